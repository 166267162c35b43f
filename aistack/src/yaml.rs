//! YAML documents as trees whose every node keeps its line, built from
//! yaml-rust2's parser events (its own loader drops the positions, and a
//! finding must name the file:line that decides it).
//!
//! Compose files lean on two YAML features a plain loader gets wrong:
//! anchors with aliases (`x-n8n: &service-n8n` ... `<<: *service-n8n`) and
//! the merge key `<<`, whose mappings give the keys the mapping itself does
//! not set. Both are resolved here, as Docker Compose's loader does. The
//! input is untrusted (a compose file under an audited root): nesting is
//! bounded, and so is the number of nodes aliases may expand to (a few
//! nested aliases can otherwise stand for billions of nodes).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Deeper than any real compose or cloudflared file.
const MAX_DEPTH: usize = 64;
/// Nodes a document may hold once its aliases are expanded.
const MAX_NODES: usize = 200_000;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar as written; `quoted` when it was in quotes (then `null`,
    /// `true` or `8080` are strings, not YAML's null, booleans, numbers).
    Scalar {
        text: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys in document order; a merged key appears once, where the
    /// mapping's own key or the merge put it.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    /// 1-based line of the node's first token.
    pub line: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

impl Node {
    /// The scalar's text, for a plain or quoted scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// YAML's null: an empty or `~`/`null` plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, quoted: false } if text.is_empty() || text == "~" || text.eq_ignore_ascii_case("null"))
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// The key node and the value under `key` of a mapping (the key keeps
    /// the line it is written on).
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, v)| (k, v))
    }

    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A YAML 1.1 boolean as Compose and cloudflared read one (`true`,
    /// `yes`, `on` and their capitals; a quoted "true" is a string).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar {
                text,
                quoted: false,
            } => match text.as_str() {
                "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
                "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
                    Some(false)
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// Parse the first document of `text` (an empty file is an empty mapping).
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(YamlError {
            line: e.marker().line(),
            message: e.info().to_string(),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Map(Vec::new()),
        line: 1,
    }))
}

/// A collection being filled, with its anchor and line.
enum Open {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    nodes: usize,
    done: bool,
    error: Option<YamlError>,
}

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Scalar { .. } => 0,
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| count(k) + count(v)).sum(),
    }
}

impl Builder {
    fn fail(&mut self, line: usize, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                line,
                message: message.into(),
            });
        }
    }

    /// A finished node goes into the collection it is part of (or is the
    /// document).
    fn add(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Open::Seq(items, _, _)) => items.push(node),
            Some(Open::Map(pairs, key, _, _)) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
}

/// The pairs of `map` with its merge keys (`<<: *anchor` or a list of
/// them) resolved: its own keys win over merged ones, and an earlier
/// mapping of a merge list over a later one, as YAML's merge key says.
fn resolve_merges(pairs: Vec<(Node, Node)>) -> Result<Vec<(Node, Node)>, YamlError> {
    if !pairs.iter().any(|(k, _)| k.as_str() == Some("<<")) {
        return Ok(pairs);
    }
    let mut own = Vec::new();
    let mut merged: Vec<(Node, Node)> = Vec::new();
    for (k, v) in pairs {
        if k.as_str() != Some("<<") {
            own.push((k, v));
            continue;
        }
        let sources: Vec<Node> = match v.value {
            Value::Map(_) => vec![v],
            Value::Seq(items) => items,
            Value::Scalar { .. } => {
                return Err(YamlError {
                    line: v.line,
                    message: "the merge key << takes a mapping or a list of mappings".into(),
                })
            }
        };
        for source in sources {
            let Value::Map(src) = source.value else {
                return Err(YamlError {
                    line: source.line,
                    message: "the merge key << takes a mapping or a list of mappings".into(),
                });
            };
            for (sk, sv) in src {
                if !merged.iter().any(|(mk, _)| mk.as_str() == sk.as_str()) {
                    merged.push((sk, sv));
                }
            }
        }
    }
    for (mk, mv) in merged {
        if !own.iter().any(|(k, _)| k.as_str() == mk.as_str()) {
            own.push((mk, mv));
        }
    }
    Ok(own)
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.done || self.error.is_some() {
            return;
        }
        let line = mark.line().max(1);
        match ev {
            // Only the first document: compose reads one.
            Event::DocumentEnd if self.root.is_some() => self.done = true,
            Event::Scalar(text, style, anchor, _) => {
                self.nodes += 1;
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.add(
                    Node {
                        value: Value::Scalar { text, quoted },
                        line,
                    },
                    anchor,
                );
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => {
                    self.nodes += count(&node);
                    if self.nodes > MAX_NODES {
                        self.fail(
                            line,
                            format!("aliases expand to more than {MAX_NODES} nodes"),
                        );
                        return;
                    }
                    let node = Node { line, ..node };
                    self.add(node, 0);
                }
                None => self.fail(line, "an alias to an anchor not defined before it"),
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.nodes += 1;
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(line, format!("nested deeper than {MAX_DEPTH} levels"));
                    return;
                }
                if matches!(ev, Event::SequenceStart(..)) {
                    self.stack.push(Open::Seq(Vec::new(), anchor, line));
                } else {
                    self.stack.push(Open::Map(Vec::new(), None, anchor, line));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::Seq(items, anchor, start)) => self.add(
                    Node {
                        value: Value::Seq(items),
                        line: start,
                    },
                    anchor,
                ),
                Some(Open::Map(pairs, _, anchor, start)) => match resolve_merges(pairs) {
                    Ok(pairs) => self.add(
                        Node {
                            value: Value::Map(pairs),
                            line: start,
                        },
                        anchor,
                    ),
                    Err(e) => self.fail(e.line, e.message),
                },
                None => self.fail(line, "unbalanced collection"),
            },
            _ => {}
        }
        if self.nodes > MAX_NODES {
            self.fail(line, format!("more than {MAX_NODES} nodes"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_anchors_and_merge_keys() {
        let doc = parse(
            "x-base: &base\n  image: n8nio/n8n\n  environment:\n    - A=1\nservices:\n  n8n:\n    <<: *base\n    image: n8nio/n8n:1.64.0\n    ports:\n      - \"5678:5678\"\n",
        )
        .unwrap();
        let n8n = doc.get("services").unwrap().get("n8n").unwrap();
        // The service's own image wins over the merged one.
        assert_eq!(n8n.get("image").unwrap().as_str(), Some("n8nio/n8n:1.64.0"));
        assert_eq!(n8n.get("image").unwrap().line, 8);
        // The merged environment keeps the line it was written on.
        let env = n8n.get("environment").unwrap().as_seq().unwrap();
        assert_eq!((env[0].as_str(), env[0].line), (Some("A=1"), 4));
        let port = &n8n.get("ports").unwrap().as_seq().unwrap()[0];
        assert_eq!((port.as_str(), port.line), (Some("5678:5678"), 10));
        assert!(matches!(&port.value, Value::Scalar { quoted: true, .. }));
    }

    #[test]
    fn booleans_nulls_and_errors() {
        let doc = parse("a: yes\nb: \"true\"\nc:\nd: ~\n").unwrap();
        assert_eq!(doc.get("a").unwrap().as_bool(), Some(true));
        assert_eq!(doc.get("b").unwrap().as_bool(), None);
        assert!(doc.get("c").unwrap().is_null());
        assert!(doc.get("d").unwrap().is_null());
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.line >= 1, "{err}");
        assert_eq!(parse("").unwrap().as_map().map(<[_]>::len), Some(0));
    }

    #[test]
    fn alias_bombs_and_deep_nesting_are_refused() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..8 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("nodes"), "{err}");
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse(&deep).unwrap_err().message.contains("deeper"));
    }
}
