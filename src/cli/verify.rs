//! The snapshot trust commands: `charter keygen` (a signing key pair) and `charter verify`
//! (digest, validity, signature, and a byte-for-byte rebuild from the policy).

use std::path::Path;

use charter::diagnostic;
use charter::pipeline::signed_by;
use charter::snapshot::format::{self, Format};

use super::load::compile_path;
use super::output::{errln, fail, outln};

/// `charter keygen --out NAME`: a new key pair, NAME.key (mode 0600) and NAME.pub.
pub(crate) fn keygen(name: &Path) -> u8 {
    use charter::snapshot::sign;
    let key = match sign::SecretKey::generate() {
        Ok(k) => k,
        Err(e) => return fail(e),
    };
    match sign::write_key_pair(name, &key) {
        Ok((secret, public)) => {
            outln!(
                "wrote `{}` (private: keep it secret; `build --sign`) and `{}` (public, key `{}`; `--verify-key`)",
                secret.display(),
                public.display(),
                key.public().key_id()
            );
            0
        }
        Err(e) => fail(e),
    }
}

/// `charter verify SNAPSHOT [--policy PATH] [--verify-key PUB]`: exit 0 when every check
/// passes, 1 when one fails (edited, invalid, unsigned or not what the policy builds), 2 when
/// the command cannot tell (unreadable files, a policy with errors).
pub(crate) fn run(path: &Path, policy: Option<&Path>, key: Option<&Path>) -> u8 {
    use charter::snapshot::format::LoadError;
    use charter::snapshot::sign;
    let Some(fmt) = Format::from_path(path) else {
        return fail(LoadError::UnknownFormat(path.to_path_buf()));
    };
    let public = match key.map(sign::load_public).transpose() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let text = match format::read_text(path, format::MAX_SNAPSHOT_BYTES) {
        Ok(t) => t,
        Err(e) => return fail(e),
    };
    let failed = |message: &dyn std::fmt::Display| {
        errln!("error: {message}");
        1
    };
    let snapshot = match format::load_text(path, &text, fmt) {
        Ok(s) => s,
        Err(e) => return failed(&e),
    };
    outln!(
        "ok: content digest matches: `{}` was not edited since it was written",
        path.display()
    );
    outln!(
        "ok: valid: every reference resolves, the location tree is a tree, every value is in range"
    );
    match (&public, key, &snapshot.signature) {
        (Some(public), Some(key), _) => {
            if let Err(e) = signed_by(path, &snapshot, public, key) {
                return failed(&e);
            }
            outln!(
                "ok: signed by `{}` (key `{}`)",
                key.display(),
                public.key_id()
            );
        }
        (_, _, Some(sig)) => outln!(
            "note: signed by key `{}`, not checked: give `--verify-key PUB` to check it",
            sig.key_id
        ),
        (_, _, None) => outln!("note: not signed"),
    }
    let Some(policy) = policy else {
        return 0;
    };
    let (sources, compiled) = match compile_path(policy) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if diagnostic::counts(&compiled.diagnostics).0 > 0 {
        return fail(format_args!(
            "`{}` has errors, so it cannot be rebuilt: fix them (`charter check`) first",
            policy.display()
        ));
    }
    let rebuilt = charter::build(&sources, &compiled);
    // The rebuild carries the file's signature as it is (it cannot be made again without the
    // private key): equal bytes then mean equal contents, and the signature was checked above.
    let how = match &snapshot.signature {
        Some(sig) => format::Sign::Copy(sig),
        None => format::Sign::No,
    };
    let bytes = format::render_with(&rebuilt, fmt, how);
    if bytes != text {
        let line = bytes
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| bytes.lines().count().min(text.lines().count()))
            + 1;
        let version = if rebuilt.compiler_version != snapshot.compiler_version {
            format!(
                " (it was built by charter {}, this is {})",
                snapshot.compiler_version, rebuilt.compiler_version
            )
        } else {
            String::new()
        };
        return failed(&format_args!(
            "`{}` is not what `{}` builds: they differ from line {line}{version}",
            path.display(),
            policy.display()
        ));
    }
    outln!("ok: `{}` rebuilds it byte for byte", policy.display());
    0
}
