//! A plan as people read it: one block per resource, field-level before → after, coloured on a
//! terminal (the caller's writer decides; anstream strips colour in pipes).

use std::fmt::Write;

use anstyle::{AnsiColor, Style};
use serde_json::Value;

use super::model::{Op, Plan, Step};
use crate::manifest::Kind;

fn style(op: Op) -> Style {
    let c = match op {
        Op::Create => AnsiColor::Green,
        Op::Update => AnsiColor::Yellow,
        Op::Replace => AnsiColor::Magenta,
        Op::Delete | Op::Refuse => AnsiColor::Red,
        Op::Unknown => AnsiColor::Cyan,
        Op::NoOp => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(c.into()))
}

fn sigil(op: Op) -> &'static str {
    match op {
        Op::Create => "+",
        Op::Update => "~",
        Op::Replace => "-/+",
        Op::Delete => "-",
        Op::Refuse => "!",
        Op::NoOp => "=",
        Op::Unknown => "?",
    }
}

/// A value on one line when it fits; a longer one whole, over indented lines (never cut: what a
/// person reviews is what runs).
pub fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 100 {
        return s;
    }
    let pretty = serde_json::to_string_pretty(v).unwrap_or(s);
    pretty.lines().collect::<Vec<_>>().join("\n      ")
}

/// The whole plan as text. `verbose` also lists unchanged resources.
pub fn text(plan: &Plan, verbose: bool) -> String {
    let mut out = String::new();
    for step in &plan.steps {
        if step.op == Op::NoOp && !verbose && !step.is_retained() {
            continue;
        }
        write_step(&mut out, step);
    }
    let n = |op| plan.count(op);
    let _ = writeln!(
        out,
        "Plan for set `{}`: {} to create, {} to update, {} to replace, {} to delete, {} refused, {} unchanged.",
        plan.set,
        n(Op::Create),
        n(Op::Update),
        n(Op::Replace),
        n(Op::Delete),
        n(Op::Refuse),
        n(Op::NoOp)
    );
    if n(Op::Unknown) > 0 {
        let _ = writeln!(
            out,
            "{} unknown: their live state could not be read; nothing is done to them or what depends on them.",
            n(Op::Unknown)
        );
    }
    out
}

fn write_step(out: &mut String, step: &Step) {
    let s = style(step.op);
    let bold = s.bold();
    let _ = write!(
        out,
        "{}{} {}{} {}{}",
        bold.render(),
        sigil(step.op),
        step.id(),
        bold.render_reset(),
        s.render(),
        if step.disruptive { "replace (disruptive)" } else { step.op.as_str() }
    );
    if let Some(reason) = &step.reason {
        let _ = write!(out, ": {reason}");
    }
    if step.disruptive {
        let _ = write!(out, " [{}; applied only with --allow-replace or REPLACE=all]", disruption(step));
    }
    let _ = writeln!(out, "{}", s.render_reset());
    for c in &step.changes {
        let element = c.path.ends_with(']');
        let line = match (&c.before, &c.after) {
            (None, Some(a)) if step.op == Op::Create => format!("    {}: {}", c.path, short(a)),
            // An element of a list with an identity, added or removed whole: one line by its
            // identity, its fields below.
            (None, Some(a)) if element => element_lines("+", &c.path, a),
            (Some(b), None) if element => element_lines("-", &c.path, b),
            (None, Some(a)) => format!("    {}: (none) → {}", c.path, short(a)),
            (Some(b), Some(a)) => format!("    {}: {} → {}", c.path, short(b), short(a)),
            (Some(b), None) => format!("    {}: {} → (none)", c.path, short(b)),
            (None, None) => continue,
        };
        let _ = writeln!(out, "{line}");
    }
    for a in &step.actions {
        let _ = writeln!(out, "    {}→ {}{} {}", s.render(), a.call, s.render_reset(), a.summary);
    }
}

/// `+ ingress tcp/443 from 0.0.0.0/0`, or `+ listeners[443]` with the element's fields beneath.
fn element_lines(sign: &str, path: &str, v: &Value) -> String {
    let (list, key) = path.rsplit_once('[').unwrap_or((path, ""));
    let key = key.trim_end_matches(']');
    if list.ends_with("ingress") || list.ends_with("egress") {
        return format!("    {sign} {list} {key}");
    }
    let mut out = format!("    {sign} {path}");
    if let Value::Object(fields) = v {
        for (k, v) in fields {
            out.push_str(&format!("\n        {k}: {}", short(v)));
        }
    }
    out
}

/// What a disruptive replacement takes down, and for how long.
pub fn disruption(step: &Step) -> String {
    match step.kind {
        Kind::Service => "the service is deleted and, once it has drained (up to its deregistration delay, then \
                          INACTIVE), created again: its tasks are down meanwhile"
            .into(),
        Kind::LoadBalancer => "the load balancer is deleted and created again: no traffic until the new one is \
                               active and its DNS name (a new one) is in use, minutes"
            .into(),
        _ => "what uses it is down until the new one is created".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{Change, Op, Plan, Step};
    use crate::manifest::Kind;
    use serde_json::json;

    #[test]
    fn shows_field_level_before_and_after_and_a_count() {
        let plan = Plan {
            set: "prod".into(),
            steps: vec![
                Step {
                    kind: Kind::Service,
                    name: "web".into(),
                    op: Op::Update,
                    changes: vec![Change {
                        path: "desiredCount".into(),
                        before: Some(json!(0)),
                        after: Some(json!(2)),
                    }],
                    reason: None,
                    adopt: false,
                    disruptive: false,
                    actions: vec![],
                },
                Step {
                    kind: Kind::Cluster,
                    name: "main".into(),
                    op: Op::NoOp,
                    changes: vec![],
                    reason: None,
                    adopt: false,
                    disruptive: false,
                    actions: vec![],
                },
            ],
        };
        let t = anstream::adapter::strip_str(&super::text(&plan, false)).to_string();
        assert_eq!(
            t,
            "~ Service/web update\n    desiredCount: 0 → 2\n\
             Plan for set `prod`: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 refused, 1 unchanged.\n"
        );
    }
}
