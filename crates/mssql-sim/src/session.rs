//! One client connection: PRELOGIN, optional TLS, LOGIN7, then requests until the client leaves.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::Shared;
use crate::engine::translate::split;
use crate::engine::{Outcome, Session};
use crate::login::{
    Login, Mode, ServerEncryption, client_encryption, negotiate, parse_login, prelogin_response,
};
use crate::request::{Param, Request, parse_batch, parse_rpc, parse_transaction};
use crate::tls::PreloginFramed;
use crate::tokens::{EnvChange, Response, ServerMessage, done};
use crate::wire::{Message, packet_type, read_message, write_message};

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Why a session ended early.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The socket failed or the client hung up mid-message.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The client sent something this server cannot read.
    #[error(transparent)]
    Malformed(#[from] crate::wire::Malformed),
    /// Anything else (TLS, SQLite setup).
    #[error("{0}")]
    Other(String),
}

/// Serves one connection to the end.
pub async fn serve(mut socket: TcpStream, shared: Arc<Shared>) -> Result<(), SessionError> {
    shared.counters.connections.fetch_add(1, Ordering::Relaxed);
    let Some(prelogin) = read_message(&mut socket).await? else {
        return Ok(());
    };
    if prelogin.kind != packet_type::PRELOGIN {
        return Err(SessionError::Other(format!(
            "expected PRELOGIN, got packet type {:#04x}",
            prelogin.kind
        )));
    }
    let client = client_encryption(&prelogin.data)?;
    let server = if shared.identity.is_some() {
        shared.config.encryption
    } else {
        ServerEncryption::Unsupported
    };
    let (answer, mode) = negotiate(server, client);
    write_message(
        &mut socket,
        packet_type::TABULAR_RESULT,
        &prelogin_response(answer),
        4096,
    )
    .await?;
    let (mut io, login): (Box<dyn Io>, Option<Message>) = match (mode, &shared.identity) {
        (Mode::Refuse, _) => return Ok(()),
        (Mode::Plain, _) | (_, None) => {
            let login = read_message(&mut socket).await?;
            (Box::new(socket), login)
        }
        (mode, Some(identity)) => {
            let mut tls = identity
                .acceptor
                .accept(PreloginFramed::new(socket))
                .await?;
            tls.get_mut().0.handshake_done();
            let login = read_message(&mut tls).await?;
            if mode == Mode::Full {
                (Box::new(tls), login)
            } else {
                // ENCRYPT_OFF: only the login travels encrypted; both sides drop TLS after it.
                let (framed, _) = tls.into_inner();
                (Box::new(framed.into_inner()), login)
            }
        }
    };
    let Some(login) = login else { return Ok(()) };
    if login.kind != packet_type::LOGIN7 {
        return Err(SessionError::Other(format!(
            "expected LOGIN7, got packet type {:#04x}",
            login.kind
        )));
    }
    let login = parse_login(&login.data)?;
    let packet_size = match login.packet_size {
        0 => 4096,
        n => usize::try_from(n.clamp(512, 32767)).unwrap_or(4096),
    };
    if let Err(response) = check_login(&shared, &login) {
        shared
            .counters
            .failed_logins
            .fetch_add(1, Ordering::Relaxed);
        write_message(&mut io, packet_type::TABULAR_RESULT, &response, packet_size).await?;
        return Ok(());
    }
    let store = shared.store.clone();
    let mut session = tokio::task::block_in_place(|| store.session())
        .map_err(|e| SessionError::Other(e.to_string()))?;
    if !login.user.eq_ignore_ascii_case("sa") {
        session.deny_keys();
    }
    shared.counters.logins.fetch_add(1, Ordering::Relaxed);
    write_message(
        &mut io,
        packet_type::TABULAR_RESULT,
        &login_response(shared.store.name(), packet_size),
        packet_size,
    )
    .await?;

    while let Some(message) = read_message(&mut io).await? {
        shared.counters.requests.fetch_add(1, Ordering::Relaxed);
        let delay = shared.faults().delay;
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let reply = tokio::task::block_in_place(|| handle(&shared, &mut session, &message));
        match reply {
            Ok(bytes) => {
                write_message(&mut io, packet_type::TABULAR_RESULT, &bytes, packet_size).await?;
            }
            // An injected fault: hang up without answering; the open transaction dies with the session.
            Err(Dropped) => return Ok(()),
        }
    }
    Ok(())
}

fn check_login(shared: &Shared, login: &Login) -> Result<(), Vec<u8>> {
    let mut response = Response::default();
    let fail = |response: &mut Response, message: ServerMessage| {
        response.error(&message).done(done::ERROR, 0);
        Err(std::mem::take(response).into_bytes())
    };
    if login.integrated {
        return fail(&mut response, ServerMessage { number: 18452, state: 1, class: 14, text: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.".into() });
    }
    let restricted = shared
        .config
        .login_without_key_permission
        .as_ref()
        .is_some_and(|(user, password)| {
            login.user.eq_ignore_ascii_case(user) && &login.password == password
        });
    if !restricted
        && (!login.user.eq_ignore_ascii_case("sa") || login.password != shared.config.sa_password)
    {
        return fail(
            &mut response,
            ServerMessage {
                number: 18456,
                state: 1,
                class: 14,
                text: format!("Login failed for user '{}'.", login.user),
            },
        );
    }
    let database = login.database.as_str();
    if !database.is_empty()
        && !database.eq_ignore_ascii_case(shared.store.name())
        && !database.eq_ignore_ascii_case("master")
    {
        response.error(&ServerMessage {
            number: 4060,
            state: 1,
            class: 11,
            text: format!(
                "Cannot open database \"{database}\" requested by the login. The login failed."
            ),
        });
        return fail(
            &mut response,
            ServerMessage {
                number: 18456,
                state: 1,
                class: 14,
                text: format!("Login failed for user '{}'.", login.user),
            },
        );
    }
    Ok(())
}

fn login_response(database: &str, packet_size: usize) -> Vec<u8> {
    let mut r = Response::default();
    r.env_text(EnvChange::Database, database, "master")
        .info(&ServerMessage {
            number: 5701,
            state: 2,
            class: 0,
            text: format!("Changed database context to '{database}'."),
        })
        .env_bytes(EnvChange::Collation, &crate::tokens::COLLATION, &[])
        .env_text(EnvChange::Language, "us_english", "")
        .info(&ServerMessage {
            number: 5703,
            state: 1,
            class: 0,
            text: "Changed language setting to us_english.".into(),
        })
        .login_ack()
        .env_text(
            EnvChange::PacketSize,
            &packet_size.to_string(),
            &packet_size.to_string(),
        )
        .done(0, 0);
    r.into_bytes()
}

/// The session hangs up (fault injection).
#[derive(Debug)]
pub struct Dropped;

fn handle(shared: &Shared, session: &mut Session, message: &Message) -> Result<Vec<u8>, Dropped> {
    let request = match message.kind {
        packet_type::SQL_BATCH => parse_batch(&message.data),
        packet_type::RPC => parse_rpc(&message.data),
        packet_type::TRANSACTION_MANAGER => parse_transaction(&message.data),
        packet_type::ATTENTION => {
            // The previous request already finished (requests run to completion): acknowledge.
            let mut r = Response::default();
            r.done(done::ATTN, 0);
            return Ok(r.into_bytes());
        }
        other => Err(crate::wire::Malformed(format!(
            "unexpected packet type {other:#04x}"
        ))),
    };
    let mut r = Response::default();
    match request {
        Err(e) => {
            r.error(&ServerMessage::error(
                50000,
                format!("k2cse-mssql-sim: {e}"),
            ))
            .done(done::ERROR, 0);
        }
        Ok(Request::Batch(sql)) => execute(shared, session, &mut r, &sql, &[], false)?,
        Ok(Request::ExecuteSql { sql, params }) => {
            execute(shared, session, &mut r, &sql, &params, true)?;
        }
        Ok(Request::UnknownProcedure(name)) => {
            r.error(&ServerMessage::error(
                2812,
                format!("Could not find stored procedure '{name}'."),
            ))
            .done(done::ERROR, 0);
        }
        Ok(Request::Begin) => transaction(shared, session, &mut r, Session::begin),
        Ok(Request::Commit) => match shared.take_commit_drop() {
            Some(crate::CommitDrop::BeforeCommitting) => return Err(Dropped),
            Some(crate::CommitDrop::AfterCommitting) => {
                transaction(shared, session, &mut r, Session::commit);
                return Err(Dropped);
            }
            None => transaction(shared, session, &mut r, Session::commit),
        },
        Ok(Request::Rollback) => transaction(shared, session, &mut r, Session::rollback),
        Ok(Request::UnknownTransactionRequest(kind)) => {
            r.error(&ServerMessage::error(
                50000,
                format!("k2cse-mssql-sim: transaction manager request {kind} is not supported"),
            ))
            .done(done::ERROR, 0);
        }
    }
    Ok(r.into_bytes())
}

fn transaction(
    shared: &Shared,
    session: &mut Session,
    r: &mut Response,
    op: fn(&mut Session) -> Result<Outcome, ServerMessage>,
) {
    match op(session) {
        Ok(outcome) => {
            environment(shared, r, &outcome);
            r.done(0, 0);
        }
        Err(message) => {
            r.error(&message).done(done::ERROR, 0);
        }
    }
}

/// The ENVCHANGE a transaction outcome needs, and the counters.
fn environment(shared: &Shared, r: &mut Response, outcome: &Outcome) {
    match outcome {
        Outcome::Began(id) => {
            r.env_bytes(EnvChange::Begin, &id.to_le_bytes(), &[]);
        }
        Outcome::Committed(id) => {
            shared.counters.commits.fetch_add(1, Ordering::Relaxed);
            r.env_bytes(EnvChange::Commit, &[], &id.to_le_bytes());
        }
        Outcome::RolledBack(id) => {
            shared.counters.rollbacks.fetch_add(1, Ordering::Relaxed);
            r.env_bytes(EnvChange::Rollback, &[], &id.to_le_bytes());
        }
        _ => {}
    }
}

/// Runs a batch (or the statement of `sp_executesql`) statement by statement.
fn execute(
    shared: &Shared,
    session: &mut Session,
    r: &mut Response,
    sql: &str,
    params: &[Param],
    rpc: bool,
) -> Result<(), Dropped> {
    session.start_batch();
    let statements = split(sql);
    let last = statements.len().saturating_sub(1);
    let mut failed = false;
    for (i, text) in statements.iter().enumerate() {
        let faults = shared.faults();
        let outcome = match &faults.fail_statement {
            Some(pattern) if text.to_lowercase().contains(&pattern.to_lowercase()) => {
                Err(ServerMessage::error(
                    50000,
                    format!(
                        "k2cse-mssql-sim: injected failure of a statement containing {pattern:?}"
                    ),
                ))
            }
            _ => session.run_text(text, params),
        };
        let count = shared.counters.statements.fetch_add(1, Ordering::Relaxed) + 1;
        if shared.take_drop(count) {
            return Err(Dropped);
        }
        let in_xact = if session.transaction().is_some() {
            done::IN_XACT
        } else {
            0
        };
        let more = if rpc || i < last { done::MORE } else { 0 };
        let finish = |r: &mut Response, status: u16, rows: u64| {
            if rpc {
                r.done_in_proc(status, rows);
            } else {
                r.done(status, rows);
            }
        };
        match outcome {
            Ok(Outcome::Rows { columns, rows }) => {
                r.columns(&columns);
                for row in &rows {
                    r.row(&columns, row);
                }
                finish(r, more | done::COUNT | in_xact, rows.len() as u64);
            }
            Ok(Outcome::Affected(n)) => finish(r, more | done::COUNT | in_xact, n),
            Ok(other) => {
                environment(shared, r, &other);
                finish(r, more | in_xact, 0);
            }
            Err(message) => {
                r.error(&message);
                // XACT_ABORT: a run-time error rolls the whole transaction back.
                if session.xact_abort()
                    && session.transaction().is_some()
                    && let Ok(outcome) = session.rollback()
                {
                    environment(shared, r, &outcome);
                }
                finish(
                    r,
                    if rpc {
                        done::ERROR | done::MORE
                    } else {
                        done::ERROR
                    },
                    0,
                );
                failed = true;
                break;
            }
        }
    }
    if rpc {
        r.return_status(if failed { -6 } else { 0 });
        r.done_proc(if failed { done::ERROR } else { 0 }, 0);
    } else if statements.is_empty() {
        r.done(0, 0);
    }
    Ok(())
}
