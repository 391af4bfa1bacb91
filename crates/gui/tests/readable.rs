//! Issue 16, "readable": text sizes and WCAG AA contrast of the theme the app sets, and the
//! Database view's connection string with only its secret hidden.
#![allow(clippy::unwrap_used)]

use egui::{TextStyle, Theme};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use k2cse_gui::jobs::Mode;
use k2cse_gui::theme::contrast;
use k2cse_gui::{GuiApp, Options};

fn harness(options: &Options) -> Harness<'static, GuiApp> {
    let app = GuiApp::new(options);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .build_ui_state(|ui, app: &mut GuiApp| app.show(ui), app);
    h.run();
    h
}

#[test]
fn text_is_large_enough_and_passes_wcag_aa_in_both_themes() {
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let h = harness(&Options {
        config: Some(path),
        jobs: Mode::Inline,
        ..Options::default()
    });
    for theme in [Theme::Light, Theme::Dark] {
        let style = h.ctx.style_of(theme);
        let size = |s: TextStyle| style.text_styles[&s].size;
        assert!(size(TextStyle::Body) >= 13.0, "{theme:?} body");
        assert!(size(TextStyle::Button) >= 13.0, "{theme:?} buttons");
        assert!(size(TextStyle::Small) >= 12.0, "{theme:?} hints and badges");
        let v = &style.visuals;
        for (what, fg) in [
            ("text", v.text_color()),
            ("weak text (hints, defaults)", v.weak_text_color()),
            ("errors", v.error_fg_color),
            ("warnings", v.warn_fg_color),
            ("links", v.hyperlink_color),
        ] {
            for (on, bg) in [
                ("panels", v.panel_fill),
                ("dialogs", v.window_fill),
                ("text fields", v.extreme_bg_color),
            ] {
                let ratio = contrast(fg, bg);
                assert!(
                    ratio >= 4.5,
                    "{theme:?}: {what} on {on} is {ratio:.2}:1, below WCAG AA's 4.5:1"
                );
            }
        }
    }
}

#[test]
fn the_database_view_hides_only_the_password() {
    let mut h = harness(&Options {
        demo: true,
        jobs: Mode::Inline,
        ..Options::default()
    });
    h.get_by_label("Database").click();
    h.run();
    let shown = h
        .get_all_by_label_contains("Data Source=127.0.0.1,")
        .map(|n| {
            let node = n.accesskit_node();
            node.label()
                .filter(|l| !l.is_empty())
                .or_else(|| node.value())
                .unwrap_or_default()
        })
        .next()
        .expect("the server is shown");
    assert!(shown.contains("User ID=sa;"), "{shown}");
    assert!(shown.contains("Password=********"), "{shown}");
    let password = k2cse_core::connstr::ConnectionString::parse(h.state().db_connection())
        .unwrap()
        .get("Password")
        .unwrap()
        .to_owned();
    assert!(h.query_by_label_contains(&password).is_none());
    h.get_by_label("Show and edit").click();
    h.run();
    assert_eq!(
        h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Connection string")
            .value()
            .as_deref(),
        Some(h.state().db_connection())
    );
}

/// Issue 16 point 8: a value with backslashes and quotes reads as typed, in the field and in
/// its finding (the core used to quote values Rust's `{:?}` way, `"C:\\K2 \"x\""`, and the
/// GUI undid it for display; the core's message is now what the administrator typed).
#[test]
fn a_value_with_backslashes_and_quotes_reads_as_typed() {
    use egui::accesskit::Role;
    const SMTP: &str = "SourceCode.Net.Mail.SmtpConnection";
    const TYPED: &str = r#"C:\K2 "x"\"#;
    let dir = tempfile::tempdir().unwrap();
    let path = k2cse_core::sample::write_sample(dir.path()).unwrap();
    let mut h = harness(&Options {
        config: Some(path),
        jobs: Mode::Inline,
        ..Options::default()
    });
    h.get_by_label(SMTP).click();
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Port").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Port")
        .type_text(TYPED);
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.entry(SMTP).unwrap().get("Port"), Some(TYPED));
    // The field.
    assert_eq!(
        h.get_by_role_and_label(Role::TextInput, "Port")
            .value()
            .as_deref(),
        Some(TYPED)
    );
    // The core's finding, as the CLI prints it and the GUI shows it.
    let message = ws
        .diagnostics(SMTP)
        .iter()
        .find(|d| d.key.as_deref() == Some("Port"))
        .map(|d| d.message.clone())
        .expect("a finding on Port");
    assert!(message.contains(&format!("\"{TYPED}\"")), "{message}");
    let node = h.get_by_label_contains("not a whole number");
    let node = node.accesskit_node();
    let shown = node
        .label()
        .filter(|l| !l.is_empty())
        .or_else(|| node.value())
        .unwrap_or_default();
    assert!(shown.contains(&format!("\"{TYPED}\"")), "{shown}");
    assert!(!shown.contains(r"\\"), "{shown}");
}
