//! Data minimisation (HUMAN-TASK §3.5): what may be stored about a person, and in what form.
//!
//! - The recruitment ID (Prolific's `PROLIFIC_PID`) is stored only as
//!   `HMAC-SHA256(key = server secret, message = "pid:" + ID)` in hex (RFC 2104): the server can
//!   recognise a returning participant, the database alone cannot be linked back to a person.
//!   The Prolific session ID gets the same treatment with its own prefix.
//! - Exports use per-study sequential public codes `p001`, `p002`, …
//! - Of the browser only the family, the major version and the OS are kept, each cut to a short
//!   plain token: never a user-agent string, never an IP address (the server logs no peers).
//! - Secrets (HMAC key, admin token) come from the environment, or are random throwaways in
//!   development; the admin token is compared in constant time.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// HMAC-SHA256 of `message` under `key`, lower-case hex.
pub fn hmac_hex(key: &[u8], message: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    hex(&mac.finalize().into_bytes())
}

/// The stored form of a recruitment ID.
pub fn pid_hmac(key: &[u8], pid: &str) -> String {
    hmac_hex(key, format!("pid:{pid}").as_bytes())
}

/// The stored form of a recruitment session ID.
pub fn session_hmac(key: &[u8], session: &str) -> String {
    hmac_hex(key, format!("session:{session}").as_bytes())
}

/// SHA-256, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// `n` random bytes from the operating system, hex: session tokens (n = 16: 128 bits) and
/// throwaway development secrets.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the operating system's random source works");
    hex(&buf)
}

/// The public code of the k-th participant (1-based) of a study: `p001`, …, `p999`, `p1000`.
pub fn public_code(k: u64) -> String {
    format!("p{k:03}")
}

/// Constant-time equality of two secrets (compares their SHA-256, so only equality leaks).
pub fn secret_eq(a: &str, b: &str) -> bool {
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// A browser or OS token cut to at most 32 characters of `[A-Za-z0-9 ._-]` (anything else is
/// dropped), so that no user-agent string or other free text is stored.
pub fn browser_token(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-'))
        .take(32)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn tokens_and_codes() {
        assert_eq!(public_code(7), "p007");
        assert_eq!(public_code(1234), "p1234");
        assert_eq!(random_hex(16).len(), 32);
        assert!(secret_eq("abc", "abc") && !secret_eq("abc", "abd"));
        assert_eq!(
            browser_token("Mozilla/5.0 (X11; Linux)"),
            "Mozilla5.0 X11 Linux"
        );
    }
}
