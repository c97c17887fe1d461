//! The simulation's event log: one JSON object per line, in time order.

use serde_json::{Map, Value};

use crate::clock::SimTime;

/// Events recorded during a run.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// The events, in the order they happened.
    pub events: Vec<Value>,
    /// When set, events are counted but not kept (large runs).
    pub discard: bool,
    /// Events recorded, kept or not.
    pub count: u64,
}

impl Log {
    /// Records `event` at `time` for `node`, with `fields`.
    pub fn push(&mut self, time: SimTime, node: &str, event: &str, fields: Value) {
        self.count += 1;
        if self.discard {
            return;
        }
        let mut obj = Map::new();
        obj.insert("t_us".into(), time.0.into());
        obj.insert("time".into(), time.utc().to_string().into());
        obj.insert("node".into(), node.into());
        obj.insert("event".into(), event.into());
        if let Value::Object(extra) = fields {
            obj.extend(extra);
        }
        self.events.push(Value::Object(obj));
    }

    /// The log as JSON lines.
    pub fn to_json_lines(&self) -> String {
        self.events.iter().map(|e| format!("{e}\n")).collect()
    }

    /// Events named `event`, optionally only those of `node`.
    pub fn find<'a>(
        &'a self,
        node: Option<&'a str>,
        event: &'a str,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.events
            .iter()
            .filter(move |e| e["event"] == event && node.is_none_or(|n| e["node"] == n))
    }
}
