//! A finding in the compiler form: `<path>:<line>:<column>:
//! <error|warning>[<rule>]: <message>`, then `help:` with the safe way,
//! and for an acknowledged one the directive that acknowledges it.

use std::path::Path;

use super::Finding;

impl Finding {
    /// The finding's label: `error`, `warning`, or `acknowledged`.
    pub fn label(&self) -> String {
        match self.acknowledged {
            Some(_) => "acknowledged".into(),
            None => self.severity.to_string(),
        }
    }

    /// The first line: `<root>/<path>:<line>:<column>: <label>[<rule>]:
    /// <message>`. Control characters of the message are escaped, so a
    /// name cannot forge a line.
    pub fn headline(&self, root: &Path) -> String {
        format!(
            "{}:{}:{}: {}[{}]: {}",
            root.join(&self.path).display(),
            self.line,
            self.column,
            self.label(),
            self.rule,
            escaped(&self.message)
        )
    }

    /// The whole finding: the headline, `help:`, and for an acknowledged
    /// one the directive and its reason.
    pub fn render(&self, root: &Path) -> String {
        let mut text = format!("{}\n  help: {}", self.headline(root), escaped(&self.help));
        if let Some(a) = &self.acknowledged {
            text.push_str(&format!(
                "\n  note: acknowledged by `-- wdh:allow {}` on line {}{}",
                self.rule,
                a.line,
                a.reason
                    .as_ref()
                    .map(|r| format!(": {}", escaped(r)))
                    .unwrap_or_default()
            ));
        }
        text
    }
}

fn escaped(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escape
        })
        .collect()
}
