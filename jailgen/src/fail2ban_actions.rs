//! A jail's `action` value split into its actions, as fail2ban's
//! `splitWithOptions`/`extractOptions` do, and the name each action runs
//! under (ActionReader).

/// One entry of a jail's `action` value: `name[key=value, key="v, w"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRef {
    /// The action file (`action.d/NAME.conf`).
    pub file: String,
    pub options: Vec<(String, String)>,
}

impl ActionRef {
    /// The name fail2ban gives the running action in `jail` (ActionReader):
    /// `actname=`, else the file name, suffixed when `name=` differs from
    /// the jail's name (`nsd-tcp` gives `nftables-multiport-tcp`).
    pub fn instance_name(&self, jail: &str) -> String {
        let opt = |key: &str| {
            self.options
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if let Some(actname) = opt("actname") {
            return actname.to_string();
        }
        match opt("name") {
            Some(n) if n != jail => match n.strip_prefix(jail) {
                Some(suffix) => format!("{}{suffix}", self.file),
                None => format!("{}-{n}", self.file),
            },
            _ => self.file.clone(),
        }
    }
}

/// Split an `action` value into its actions as fail2ban's splitWithOptions
/// does: entries are separated by white space (usually new lines) outside
/// brackets and quotes; options may span lines.
pub fn split_actions(value: &str) -> Vec<ActionRef> {
    let chars: Vec<char> = value.chars().collect();
    let mut actions = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '[' {
            i += 1;
        }
        let file: String = chars[start..i].iter().collect();
        let mut j = i;
        while j < chars.len() && chars[j].is_whitespace() {
            j += 1;
        }
        let mut options = Vec::new();
        if j < chars.len() && chars[j] == '[' {
            // Options until the closing bracket, quotes respected; `][`
            // continues with another option group.
            let mut body = String::new();
            let mut quote: Option<char> = None;
            i = j + 1;
            while i < chars.len() {
                let c = chars[i];
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (None, '"') | (None, '\'') => quote = Some(c),
                    (None, ']') if chars.get(i + 1) == Some(&'[') => {
                        body.push(',');
                        i += 2;
                        continue;
                    }
                    (None, ']') => {
                        i += 1;
                        break;
                    }
                    _ => {}
                }
                body.push(c);
                i += 1;
            }
            options = parse_options(&body);
        }
        if !file.is_empty() {
            actions.push(ActionRef { file, options });
        }
    }
    actions
}

fn parse_options(body: &str) -> Vec<(String, String)> {
    let mut options = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', ',']);
        let Some(eq) = rest.find('=') else {
            break;
        };
        let key = rest[..eq].trim().to_string();
        rest = &rest[eq + 1..];
        let value;
        if let Some(q) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let inner = &rest[1..];
            let end = inner.find(q).unwrap_or(inner.len());
            value = inner[..end].to_string();
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        options.push((key, value));
    }
    options
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_split_like_fail2ban() {
        let v = "nftables-multiport[name=x-tcp, port=\"22,80\", protocol=\"tcp\", actname=nftables-multiport-tcp]\nnftables-multiport[name=x-udp,\n   actname=a-udp]\nsendmail-whois[dest=\"root\"][actionstart_on_demand=false]";
        let a = split_actions(v);
        assert_eq!(a.len(), 3, "{a:?}");
        assert_eq!(a[0].file, "nftables-multiport");
        assert_eq!(a[0].instance_name("x"), "nftables-multiport-tcp");
        assert_eq!(a[0].options[1], ("port".into(), "22,80".into()));
        assert_eq!(a[1].instance_name("x"), "a-udp");
        let nsd = split_actions("nftables-multiport[port=\"53\"][name=nsd-tcp, protocol=\"tcp\"]");
        assert_eq!(nsd[0].instance_name("nsd"), "nftables-multiport-tcp");
        assert_eq!(a[2].file, "sendmail-whois");
        assert_eq!(a[2].options.len(), 2);
        assert_eq!(split_actions("ufw")[0].instance_name("sshd"), "ufw");
    }
}
