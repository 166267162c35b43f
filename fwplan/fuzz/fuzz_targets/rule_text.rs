//! Fuzz the rule flags: `--allow/--deny/--limit PORTS[/PROTO][@SOURCES][#COMMENT]`
//! (e.g. `80,443/tcp@10.0.0.0/8#comment`) and `--limit-rate COUNT/UNIT`,
//! then plan and render the policy they make, for all three backends.
#![no_main]

use fwplan::policy::{Origin, Policy, Rate, RuleAction};
use fwplan::render_iptables::Family;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut policy = Policy::default();
    let origin = Origin::Flag {
        flag: "--limit-rate",
        text: text.to_string(),
    };
    if let Ok(rate) = Rate::parse(text, &origin) {
        policy.limit_rate = rate;
    }
    let (action, flag) = match which % 3 {
        0 => (RuleAction::Allow, "--allow"),
        1 => (RuleAction::Deny, "--deny"),
        _ => (RuleAction::Limit, "--limit"),
    };
    for spec in text.split(' ') {
        if let Ok(rule) = fwplan::policy::parse_rule_text(action, flag, spec) {
            policy.rules.push(rule);
        }
    }
    if let Ok(plan) = fwplan::plan::build(&policy) {
        let _ = fwplan::render_nft::render(&plan);
        let _ = fwplan::render_ufw::render(&plan);
        let _ = fwplan::render_iptables::render(&plan, Family::V4);
        let _ = fwplan::render_iptables::render(&plan, Family::V6);
    }
});
