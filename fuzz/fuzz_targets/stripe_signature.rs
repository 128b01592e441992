//! Stripe's webhook signature: any `Stripe-Signature` header is answered without a panic
//! and passes only if it carries a real signature; a header signed as Stripe documents it
//! (HMAC-SHA256 of `<t>.<body>`) holds within the tolerance and fails with any byte changed.
//! Input: clock skew (i16), a flip mask, a secret choice, then a header line and the body.
#![no_main]

use app::features::billing::webhook::{sign, verify_signature, SignatureError, TOLERANCE_SECONDS};
use hmac::{Hmac, Mac};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

const NOW: i64 = 1_700_000_000;

/// Computed here rather than with the module's own helper, so the two can disagree.
fn stripe_mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `given` carries a real signature of `body` for a timestamp it names.
fn carries_real_signature(given: &str, body: &[u8], secrets: &[String]) -> bool {
    let given = given.to_ascii_lowercase();
    let named = given.split(',').filter_map(|part| part.trim().strip_prefix("t="));
    let real = |t: i64| {
        secrets
            .iter()
            .map(move |secret| hex::encode(stripe_mac(secret, t, body)))
    };
    named
        .filter_map(|t| t.parse::<i64>().ok())
        .flat_map(real)
        .any(|mac| given.contains(&mac))
}

fuzz_target!(|data: &[u8]| {
    let [skew_low, skew_high, flip, choice, rest @ ..] = data else {
        return;
    };
    let secrets = ["whsec_current".to_owned(), "whsec_previous".to_owned()];
    let verify = |given: &str, body: &[u8]| verify_signature(Some(given), body, &secrets, NOW);
    let (line, body) = rest.split_at(rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len()));
    let line = String::from_utf8_lossy(line).into_owned();
    let body = body.get(1..).unwrap_or_default();

    // No secret, no pass; with secrets, only a real signature passes.
    assert!(verify_signature(Some(&line), body, &[], NOW).is_err());
    if verify(&line, body).is_ok() {
        assert!(carries_real_signature(&line, body, &secrets), "{line}");
    }

    let timestamp = NOW + i64::from(i16::from_le_bytes([*skew_low, *skew_high]));
    let secret = &secrets[usize::from(*choice) % secrets.len()];
    let genuine = stripe_mac(secret, timestamp, body);
    let signed = format!("t={timestamp},v1={}", hex::encode(&genuine));
    assert_eq!(sign(body, secret, timestamp), signed, "sign() writes Stripe's scheme");
    let fresh = NOW.abs_diff(timestamp) <= TOLERANCE_SECONDS.unsigned_abs();
    let expected = if fresh { Ok(()) } else { Err(SignatureError::Stale) };
    assert_eq!(verify(&signed, body), expected);
    if !fresh {
        return;
    }

    for at in 0..genuine.len() {
        let mut forged = genuine.clone();
        forged[at] ^= flip | 1;
        let forged_only = format!("t={timestamp},v1={}", hex::encode(&forged));
        assert_eq!(verify(&forged_only, body), Err(SignatureError::Mismatch));
        // During a secret roll one good signature among several is enough.
        let both = format!("{forged_only},v1={}", hex::encode(&genuine));
        assert_eq!(verify(&both, body), Ok(()));
    }
    let mut longer = body.to_vec();
    longer.push(*flip);
    // The body is signed too.
    assert_eq!(verify(&signed, &longer), Err(SignatureError::Mismatch));
});
