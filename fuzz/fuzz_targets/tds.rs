//! The simulator's TDS readers never panic: packet framing (`read_message`) and the parsers of
//! every message the simulator accepts (PRELOGIN, LOGIN7, SQL batch, RPC, transaction manager).
#![no_main]

use k2cse_mssql_sim::{login, request, wire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime");
    let mut stream = data;
    runtime.block_on(async {
        while let Ok(Some(message)) = wire::read_message(&mut stream).await {
            parse_all(&message.data);
        }
    });
    parse_all(data);
});

fn parse_all(data: &[u8]) {
    let _ = login::client_encryption(data);
    let _ = login::parse_login(data);
    let _ = request::parse_batch(data);
    let _ = request::parse_rpc(data);
    let _ = request::parse_transaction(data);
}
