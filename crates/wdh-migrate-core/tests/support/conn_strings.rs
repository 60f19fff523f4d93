//! Connection strings with generated passwords, in every form a target can
//! be written in, and the check that no part of a password shows in a text.
//!
//! Included by path from the tests of `wdh-migrate-core` and `wdh-migrate`,
//! so both check the same strings.
//!
//! Every 3-character window of a generated password holds a marker: a
//! character that nothing else in a test's strings or in any message uses.
//! A window found in a text is therefore a leak, never a coincidence with
//! the surrounding text (`pos` in `postgres`), and the check cannot be
//! flaky.

#![allow(dead_code)]

use proptest::prelude::*;

/// Characters that occur only in passwords.
pub const MARKERS: &[char] = &['ß', 'Ж', 'é', '漢', '€', '😀'];

/// The other characters of passwords: URL and key=value syntax, quotes,
/// escapes, white space (ASCII and not), letters, digits and non-ASCII.
pub const OTHERS: &[char] = &[
    '@', '/', '?', '&', '#', '=', '%', '\'', '\\', ' ', ':', ',', '[', ']', '"', '\t', '+', ';',
    '!', '$', '*', '(', ')', '<', '>', '|', '`', 'a', 'Z', 'q', '0', '9', '-', '_', '.', '~',
    '\u{a0}', 'ü',
];

/// The database every generated string names.
pub const DATABASE: &str = "wdh_test_secrets";

/// A password: up to two other characters, then one to eight chunks of a
/// marker followed by up to two other characters.
pub fn password() -> impl Strategy<Value = String> {
    let other = || prop::sample::select(OTHERS);
    (
        prop::collection::vec(other(), 0..=2),
        prop::collection::vec(
            (
                prop::sample::select(MARKERS),
                prop::collection::vec(other(), 0..=2),
            ),
            1..=8,
        ),
    )
        .prop_map(|(head, chunks)| {
            let mut pw: String = head.into_iter().collect();
            for (marker, tail) in chunks {
                pw.push(marker);
                pw.extend(tail);
            }
            pw
        })
}

/// Where a generated string points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// TCP hosts, each `name` or `[v6]`, with the port for all of them.
    Tcp { hosts: Vec<String>, port: u16 },
    /// A unix socket directory.
    Socket(String),
}

impl Place {
    /// A few places for strings that are only parsed, never connected to.
    pub fn any() -> impl Strategy<Value = Place> {
        prop_oneof![
            Just(Place::Tcp {
                hosts: vec!["db1".into()],
                port: 5432
            }),
            Just(Place::Tcp {
                hosts: vec!["[::1]".into()],
                port: 5433
            }),
            Just(Place::Tcp {
                hosts: vec!["h1".into(), "h2".into()],
                port: 6432
            }),
            Just(Place::Socket("/run/postgresql".into())),
        ]
    }

    /// `hosts:port` for a URL's authority (empty for a socket).
    fn authority(&self) -> String {
        match self {
            Place::Tcp { hosts, port } => hosts
                .iter()
                .map(|h| format!("{h}:{port}"))
                .collect::<Vec<_>>()
                .join(","),
            Place::Socket(_) => String::new(),
        }
    }

    /// The URL query parameter that names a socket, if any.
    fn url_param(&self) -> Option<String> {
        match self {
            Place::Tcp { .. } => None,
            Place::Socket(dir) => Some(format!("host={dir}")),
        }
    }

    /// The key=value settings of the place.
    fn key_value(&self) -> String {
        match self {
            Place::Tcp { hosts, port } => {
                let names: Vec<&str> = hosts
                    .iter()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
                    .collect();
                format!("host={} port={port}", names.join(","))
            }
            Place::Socket(dir) => format!("host={dir}"),
        }
    }
}

/// How the password is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// In the URL's user info, percent-encoded.
    UrlEncoded,
    /// In the URL's user info, as it is.
    UrlRaw,
    /// As a `?password=` query parameter, percent-encoded.
    QueryEncoded,
    /// As a `?password=` query parameter, as it is.
    QueryRaw,
    /// As `password='…'` with `\'` and `\\` escaped.
    KeyValueQuoted,
    /// As `password=…` with spaces, quotes and backslashes escaped.
    KeyValueEscaped,
    /// As `password=…`, as it is.
    KeyValueRaw,
    /// As `password='…'`, as it is.
    KeyValueQuotedRaw,
    /// In the URL's user info and again as a query parameter.
    UrlTwice,
    /// As the value of another secret setting (`sslpassword`,
    /// `oauth_client_secret`, `PASSWORD`), in a query parameter.
    QuerySecretSetting(usize),
    /// As the value of another secret setting, in key=value form.
    KeyValueSecretSetting(usize),
}

/// Secret settings besides `password`, which the driver does not accept
/// (`passfile` names a file, which is no secret, and is accepted).
pub const SECRET_SETTINGS: [&str; 3] = ["sslpassword", "oauth_client_secret", "PASSWORD"];

/// What a generated string must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Parse, with exactly the generated password.
    Parse,
    /// Be refused.
    Refuse,
    /// Parse with exactly the generated password, or be refused.
    ParseAlikeOrRefuse,
    /// Anything, as long as no part of the password shows.
    Anything,
}

/// A generated connection string.
#[derive(Debug, Clone)]
pub struct Case {
    /// The password that was written into it.
    pub password: String,
    /// How it was written.
    pub form: Form,
    /// The connection string.
    pub conn: String,
    /// What the string must do.
    pub expect: Expect,
}

/// Every form, with its other choices: the scheme, the user, whether
/// non-ASCII characters are encoded, and where the password goes.
pub fn case(place: impl Strategy<Value = Place>) -> impl Strategy<Value = Case> {
    let form = prop_oneof![
        Just(Form::UrlEncoded),
        Just(Form::UrlRaw),
        Just(Form::QueryEncoded),
        Just(Form::QueryRaw),
        Just(Form::KeyValueQuoted),
        Just(Form::KeyValueEscaped),
        Just(Form::KeyValueRaw),
        Just(Form::KeyValueQuotedRaw),
        Just(Form::UrlTwice),
        (0..SECRET_SETTINGS.len()).prop_map(Form::QuerySecretSetting),
        (0..SECRET_SETTINGS.len()).prop_map(Form::KeyValueSecretSetting),
    ];
    (
        password(),
        form,
        place,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0..3usize,
    )
        .prop_map(
            |(password, form, place, long_scheme, user, encode_all, at)| {
                let scheme = if long_scheme {
                    "postgresql://"
                } else {
                    "postgres://"
                };
                build(&password, form, &place, scheme, user, encode_all, at)
            },
        )
}

/// Percent-encodes all but unreserved ASCII; non-ASCII characters too
/// when `all`.
pub fn encode(text: &str, all: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '~')
            || (!all && !c.is_ascii() && !c.is_whitespace())
        {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// Escapes a value for libpq's key=value form, inside quotes or not.
fn escape(text: &str, quoted: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c == '\\' || c == '\'' || (!quoted && c.is_whitespace()) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn build(
    password: &str,
    form: Form,
    place: &Place,
    scheme: &str,
    user: bool,
    encode_all: bool,
    at: usize,
) -> Case {
    let user_name = if user { "app" } else { "" };
    let url = |credentials: &str, params: &[String]| {
        let mut all: Vec<String> = place.url_param().into_iter().collect();
        all.extend(params.iter().cloned());
        let query = if all.is_empty() {
            String::new()
        } else {
            format!("?{}", all.join("&"))
        };
        format!(
            "{scheme}{credentials}{}/{DATABASE}{query}",
            place.authority()
        )
    };
    let with_user = if user {
        format!("{user_name}@")
    } else {
        String::new()
    };
    // The password parameter first, in the middle or last of the query.
    let query = |param: String| {
        let mut params = vec!["sslmode=disable".to_owned(), "connect_timeout=5".to_owned()];
        params.insert(at.min(params.len()), param);
        url(&with_user, &params)
    };
    // The password setting first, in the middle or last.
    let key_value = |setting: String| {
        let mut settings = vec![place.key_value(), format!("user=app dbname={DATABASE}")];
        settings.insert(at.min(settings.len()), setting);
        settings.join(" ")
    };
    let (conn, expect) = match form {
        Form::UrlEncoded => (
            url(
                &format!("{user_name}:{}@", encode(password, encode_all)),
                &[],
            ),
            Expect::Parse,
        ),
        Form::UrlRaw => (
            url(&format!("{user_name}:{password}@"), &[]),
            Expect::ParseAlikeOrRefuse,
        ),
        Form::QueryEncoded => (
            query(format!("password={}", encode(password, encode_all))),
            Expect::Parse,
        ),
        Form::QueryRaw => (
            query(format!("password={password}")),
            Expect::ParseAlikeOrRefuse,
        ),
        Form::KeyValueQuoted => (
            key_value(format!("password='{}'", escape(password, true))),
            Expect::Parse,
        ),
        Form::KeyValueEscaped => (
            key_value(format!("password={}", escape(password, false))),
            Expect::Parse,
        ),
        Form::KeyValueRaw => (key_value(format!("password={password}")), Expect::Anything),
        Form::KeyValueQuotedRaw => (
            key_value(format!("password='{password}'")),
            Expect::Anything,
        ),
        Form::UrlTwice => {
            let encoded = encode(password, encode_all);
            (
                url(
                    &format!("{user_name}:{encoded}@"),
                    &[format!("password={encoded}")],
                ),
                Expect::Refuse,
            )
        }
        Form::QuerySecretSetting(i) => (
            query(format!(
                "{}={}",
                SECRET_SETTINGS[i],
                encode(password, encode_all)
            )),
            Expect::Refuse,
        ),
        Form::KeyValueSecretSetting(i) => (
            key_value(format!(
                "{}='{}'",
                SECRET_SETTINGS[i],
                escape(password, true)
            )),
            Expect::Refuse,
        ),
    };
    // White space at the end of the string is not part of it, and a URL
    // may end with an empty query parameter (`&`).
    let expect = match expect {
        Expect::ParseAlikeOrRefuse
            if conn.ends_with(|c: char| c.is_ascii_whitespace() || c == '&') =>
        {
            Expect::Anything
        }
        other => other,
    };
    Case {
        password: password.to_owned(),
        form,
        conn,
        expect,
    }
}

/// Why `text` shows part of `case`'s password, if it does: a marker, a
/// 3-character window of the password, or a percent-encoded non-ASCII
/// byte (the encoded markers; nothing else in the strings is non-ASCII).
pub fn leak(case: &Case, text: &str) -> Option<String> {
    if let Some(m) = text.chars().find(|c| MARKERS.contains(c)) {
        return Some(format!("the marker {m:?}"));
    }
    let chars: Vec<char> = case.password.chars().collect();
    for window in chars.windows(3) {
        let fragment: String = window.iter().collect();
        if text.contains(&fragment) {
            return Some(format!("the fragment {fragment:?}"));
        }
    }
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(2) {
        if bytes[i] == b'%'
            && matches!(bytes[i + 1], b'8'..=b'9' | b'A'..=b'F' | b'a'..=b'f')
            && bytes[i + 2].is_ascii_hexdigit()
        {
            return Some(format!("the encoded byte {:?}", &text[i..i + 3]));
        }
    }
    None
}

/// Panics if any of `texts` shows part of `case`'s password.
pub fn assert_hidden(case: &Case, texts: &[(&str, String)]) {
    for (what, text) in texts {
        if let Some(leak) = leak(case, text) {
            panic!(
                "{what} shows {leak} of the password {:?} ({:?} form of {:?}):\n{text}",
                case.password, case.form, case.conn
            );
        }
    }
}
