//! The container's environment: pass-list from the caller, minus secrets,
//! plus what the policy sets.

/// Never passed, whatever `pass` says. Matched case-insensitively.
pub const ALWAYS_SCRUBBED: &[&str] = &[
    "*_TOKEN",
    "*_TOKEN_*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*_KEY",
    "*_KEY_ID",
    "*_CREDENTIALS*",
    "AWS_*",
    "GITHUB_*",
    "GH_*",
    "GITLAB_*",
    "NPM_CONFIG__AUTH*",
    "NPM_CONFIG_//*",
    "NODE_AUTH_TOKEN",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
    "DOCKER_AUTH_CONFIG",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_*",
    "VAULT_*",
];

/// `*` matches any run of characters; everything else literally.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

pub fn is_secret(name: &str, extra: &[String]) -> bool {
    let upper = name.to_ascii_uppercase();
    ALWAYS_SCRUBBED.iter().any(|p| glob_match(p, &upper))
        || extra
            .iter()
            .any(|p| glob_match(&p.to_ascii_uppercase(), &upper))
}

/// `KEY=VALUE` list for the spec, sorted by name for a stable spec.
pub fn build(
    caller: &[(String, String)],
    pass: &[String],
    scrub: &[String],
    set: &[(String, String)],
) -> Vec<String> {
    let mut out: std::collections::BTreeMap<String, String> = caller
        .iter()
        .filter(|(k, _)| pass.iter().any(|p| glob_match(p, k)))
        .filter(|(k, _)| !is_secret(k, scrub))
        .cloned()
        .collect();
    // Set by the policy author, so not scrubbed.
    for (k, v) in set {
        out.insert(k.clone(), v.clone());
    }
    out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn globs() {
        assert!(glob_match("LC_*", "LC_ALL"));
        assert!(glob_match("*_TOKEN", "NPM_TOKEN"));
        assert!(!glob_match("*_TOKEN", "TOKENS"));
        assert!(glob_match("*SECRET*", "MY_SECRET_X"));
    }

    #[test]
    fn secrets_never_pass() {
        let caller = vec![
            kv("PATH", "/bin"),
            kv("NPM_TOKEN", "t"),
            kv("AWS_SECRET_ACCESS_KEY", "s"),
            kv("npm_config__authToken", "a"),
            kv("npm_lifecycle_event", "install"),
            kv("EDITOR", "vi"),
        ];
        let env = build(&caller, &["*".into()], &["EDITOR".into()], &[kv("X", "1")]);
        assert_eq!(env, vec!["PATH=/bin", "X=1", "npm_lifecycle_event=install"]);
    }
}
