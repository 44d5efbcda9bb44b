//! Executes a parse tree against the data, as Go's `text/template` does.

use std::collections::{BTreeMap, HashMap};

use crate::function::{self, Call, FuncError};
use crate::syntax::{Assignment, Command, Node, Operand, Pipeline, Tree};
use crate::value::Value;

/// Sprig functions that modify their first (dict) argument in place in Go.
const MUTATING: &[&str] = &[
    "set",
    "unset",
    "merge",
    "mustMerge",
    "mergeOverwrite",
    "mustMergeOverwrite",
];

/// What happens when a field names a key that is not in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MissingKey {
    /// Go's default: the result is the invalid value (printed `<no value>`).
    Invalid,
    /// `missingkey=error`.
    Error,
}

/// Output larger than this is refused (a Kubernetes Secret is at most 1 MiB).
pub(crate) const MAX_OUTPUT: usize = 8 << 20;
/// Nesting limit for `{{template}}` calls and nested control structures.
const MAX_DEPTH: usize = 100;
/// Total `range` iterations allowed in one execution.
const MAX_RANGE_ITERATIONS: usize = 1_000_000;
/// Largest list or dict a function may return.
const MAX_ELEMENTS: usize = 1 << 20;
/// Deepest nesting of lists/dicts a function may return.
const MAX_NESTING: usize = 64;
/// Total bytes/elements all function results of one execution may add up to.
const MAX_WORK: usize = 64 << 20;

/// An execution failure at a byte offset (message never contains a value).
#[derive(Debug)]
pub(crate) struct ExecError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

type EResult<T> = Result<T, ExecError>;

fn fail<T>(pos: usize, message: impl Into<String>) -> EResult<T> {
    Err(ExecError {
        pos,
        message: message.into(),
    })
}

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(crate) struct State<'a> {
    defines: &'a HashMap<String, Vec<Node>>,
    root: Value,
    dialect: crate::Dialect,
    missing_key: MissingKey,
    vars: Vec<(String, Value)>,
    out: Vec<u8>,
    depth: usize,
    iterations: usize,
    work: usize,
}

/// Execute `tree` with `data` as dot.
pub(crate) fn execute(
    tree: &Tree,
    data: Value,
    dialect: crate::Dialect,
    missing_key: MissingKey,
) -> EResult<Vec<u8>> {
    let mut state = State {
        defines: &tree.defines,
        root: data.clone(),
        dialect,
        missing_key,
        vars: vec![("$".to_string(), data.clone())],
        out: Vec::new(),
        depth: 0,
        iterations: 0,
        work: 0,
    };
    state.walk_list(&tree.root, &data)?;
    Ok(state.out)
}

impl State<'_> {
    fn walk_list(&mut self, nodes: &[Node], dot: &Value) -> EResult<Flow> {
        for node in nodes {
            match self.walk(node, dot)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, node: &Node, dot: &Value) -> EResult<Flow> {
        match node {
            Node::Text(t) => self.write(t, 0)?,
            Node::Action(pipe) => {
                let value = self.pipeline(pipe, dot)?;
                if pipe.decl.is_empty() {
                    let mut buf = Vec::new();
                    match &value {
                        Value::Nil => buf.extend_from_slice(b"<no value>"),
                        v => v.write_go(&mut buf),
                    }
                    self.write(&buf, pipe.pos)?;
                }
            }
            Node::If {
                pipe,
                body,
                else_body,
            }
            | Node::With {
                pipe,
                body,
                else_body,
            } => {
                let with = matches!(node, Node::With { .. });
                let scope = self.vars.len();
                let value = self.pipeline(pipe, dot)?;
                self.enter(pipe.pos)?;
                let flow = if value.is_true() {
                    let new_dot = if with { value } else { dot.clone() };
                    self.walk_list(body, &new_dot)
                } else if let Some(else_body) = else_body {
                    self.walk_list(else_body, dot)
                } else {
                    Ok(Flow::Normal)
                };
                self.depth -= 1;
                self.vars.truncate(scope);
                return flow;
            }
            Node::Range {
                pipe,
                body,
                else_body,
            } => {
                let scope = self.vars.len();
                self.enter(pipe.pos)?;
                let result = self.range(pipe, body, else_body.as_deref(), dot);
                self.depth -= 1;
                self.vars.truncate(scope);
                result?;
            }
            Node::Template { pos, name, pipe } => {
                let Some(body) = self.defines.get(name) else {
                    return fail(*pos, format!("no such template {name:?}"));
                };
                let new_dot = match pipe {
                    Some(p) => self.pipeline(p, dot)?,
                    None => Value::Nil,
                };
                self.enter(*pos)?;
                let saved =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let result = self.walk_list(body, &new_dot);
                self.vars = saved;
                self.depth -= 1;
                result?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn enter(&mut self, pos: usize) -> EResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return fail(pos, "exceeded maximum template depth");
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], pos: usize) -> EResult<()> {
        if self.out.len() + bytes.len() > MAX_OUTPUT {
            return fail(
                pos,
                format!("output exceeds the limit of {MAX_OUTPUT} bytes"),
            );
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn range(
        &mut self,
        pipe: &Pipeline,
        body: &[Node],
        else_body: Option<&[Node]>,
        dot: &Value,
    ) -> EResult<()> {
        // Evaluate without assigning; range assigns per element.
        let value = self.commands(pipe, dot)?;
        let items: Vec<(Value, Value)> = match &value {
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (Value::Int(i as i64), v.clone()))
                .collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (Value::str(k), v.clone()))
                .collect(),
            Value::Int(n) => (0..(*n).max(0))
                .map(|i| (Value::Int(i), Value::Int(i)))
                .collect(),
            Value::Nil => Vec::new(),
            other => {
                return fail(
                    pipe.pos,
                    format!(
                        "range can't iterate over a value of type {}",
                        other.type_name()
                    ),
                );
            }
        };
        if items.is_empty() {
            if let Some(else_body) = else_body {
                self.walk_list(else_body, dot)?;
            }
            return Ok(());
        }
        let scope = self.vars.len();
        for (key, item) in items {
            self.iterations += 1;
            if self.iterations > MAX_RANGE_ITERATIONS {
                return fail(pipe.pos, "range iteration limit exceeded");
            }
            match (pipe.decl.as_slice(), pipe.assign) {
                ([], _) => {}
                ([v], Assignment::Declare) => self.vars.push((v.clone(), item.clone())),
                ([k, v], Assignment::Declare) => {
                    self.vars.push((k.clone(), key));
                    self.vars.push((v.clone(), item.clone()));
                }
                ([v], Assignment::Assign) => self.set_var(v, item.clone()),
                ([k, v], Assignment::Assign) => {
                    self.set_var(k, key);
                    self.set_var(v, item.clone());
                }
                _ => return fail(pipe.pos, "too many declarations in range"),
            }
            let flow = self.walk_list(body, &item)?;
            self.vars.truncate(scope);
            if let Flow::Break = flow {
                break;
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, value: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = value;
        }
    }

    fn var(&self, pos: usize, name: &str) -> EResult<Value> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => fail(pos, format!("undefined variable {name:?}")),
        }
    }

    /// Evaluate a pipeline and perform its declarations/assignments.
    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> EResult<Value> {
        let value = self.commands(pipe, dot)?;
        for name in &pipe.decl {
            match pipe.assign {
                Assignment::Declare => self.vars.push((name.clone(), value.clone())),
                Assignment::Assign => self.set_var(name, value.clone()),
            }
        }
        Ok(value)
    }

    fn commands(&mut self, pipe: &Pipeline, dot: &Value) -> EResult<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, dot, value)?);
        }
        Ok(value.unwrap_or(Value::Nil))
    }

    fn command(&mut self, cmd: &Command, dot: &Value, last: Option<Value>) -> EResult<Value> {
        let first = &cmd.args[0];
        if let Operand::Function(pos, name) = first {
            return self.call(*pos, name, &cmd.args[1..], dot, last);
        }
        if cmd.args.len() > 1 || last.is_some() {
            let pos = first.pos().unwrap_or(cmd.pos);
            return fail(pos, "can't give argument to non-function");
        }
        self.operand(first, dot, cmd.pos)
    }

    fn operand(&mut self, operand: &Operand, dot: &Value, cmd_pos: usize) -> EResult<Value> {
        match operand {
            Operand::Dot(_) => Ok(dot.clone()),
            Operand::Field(pos, fields) => self.fields(*pos, dot.clone(), fields),
            Operand::Variable(pos, name, fields) => {
                let v = self.var(*pos, name)?;
                self.fields(*pos, v, fields)
            }
            Operand::Chain(pos, pipe, fields) => {
                let scope = self.vars.len();
                let v = self.pipeline(pipe, dot);
                self.vars.truncate(scope);
                self.fields(*pos, v?, fields)
            }
            Operand::Function(pos, name) => self.call(*pos, name, &[], dot, None),
            Operand::Str(s) => Ok(Value::str(s)),
            Operand::Int(i) => Ok(Value::Int(*i)),
            Operand::Float(f) => Ok(Value::Float(*f)),
            Operand::Bool(b) => Ok(Value::Bool(*b)),
            Operand::Nil(pos) => fail(
                if *pos == 0 { cmd_pos } else { *pos },
                "nil is not a command",
            ),
        }
    }

    fn fields(&self, pos: usize, mut receiver: Value, fields: &[String]) -> EResult<Value> {
        for name in fields {
            receiver = match &receiver {
                Value::Map(entries) => match entries.get(name) {
                    Some(v) => v.clone(),
                    None => match self.missing_key {
                        MissingKey::Invalid => Value::Nil,
                        MissingKey::Error => {
                            return fail(pos, format!("map has no entry for key {name:?}"));
                        }
                    },
                },
                Value::Nil => match self.missing_key {
                    MissingKey::Invalid => Value::Nil,
                    MissingKey::Error => {
                        return fail(pos, format!("nil data; no entry for key {name:?}"));
                    }
                },
                other => {
                    return fail(
                        pos,
                        format!("can't evaluate field {name} in type {}", other.type_name()),
                    );
                }
            };
        }
        Ok(receiver)
    }

    fn arg(&mut self, operand: &Operand, dot: &Value, pos: usize) -> EResult<Value> {
        match operand {
            // `nil` is a valid argument (it is only invalid as a command).
            Operand::Nil(_) => Ok(Value::Nil),
            Operand::Function(fpos, name) => self.call(*fpos, name, &[], dot, None),
            other => self.operand(other, dot, pos),
        }
    }

    fn call(
        &mut self,
        pos: usize,
        name: &str,
        args: &[Operand],
        dot: &Value,
        last: Option<Value>,
    ) -> EResult<Value> {
        // `and` / `or` short-circuit: arguments are evaluated left to right
        // only until the result is known.
        if name == "and" || name == "or" {
            let total = args.len() + usize::from(last.is_some());
            if total == 0 {
                return fail(
                    pos,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                );
            }
            let mut result = Value::Nil;
            for (i, a) in args.iter().enumerate() {
                result = self.arg(a, dot, pos)?;
                let decided = if name == "and" {
                    !result.is_true()
                } else {
                    result.is_true()
                };
                if decided || (i + 1 == total) {
                    return Ok(result);
                }
            }
            return Ok(last.unwrap_or(result));
        }
        let Some(func) = function::lookup(self.dialect, name) else {
            return fail(pos, format!("function {name:?} not defined"));
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        for a in args {
            values.push(self.arg(a, dot, pos)?);
        }
        if let Some(last) = last {
            values.push(last);
        }
        match func(
            &Call {
                name,
                root: &self.root,
                dialect: self.dialect,
            },
            &values,
        ) {
            Ok(v) => {
                self.account(pos, name, &v)?;
                // Go's dicts are references: `set $d "k" "v"` changes `$d`.
                // Ours are values, so rebind the variable the dict came from.
                if MUTATING.contains(&name)
                    && let Some(Operand::Variable(_, var, fields)) = args.first()
                    && fields.is_empty()
                    && var != "$"
                    && matches!(v, Value::Map(_))
                {
                    self.set_var(var, v.clone());
                }
                Ok(v)
            }
            Err(FuncError(m)) => fail(pos, format!("error calling {name}: {m}")),
        }
    }

    /// Bound what templates can build (memory, nesting, total work), so a
    /// hostile template cannot exhaust the controller.
    fn account(&mut self, pos: usize, name: &str, v: &Value) -> EResult<()> {
        let size = match v {
            Value::Str(s) if s.len() > MAX_OUTPUT => {
                return fail(
                    pos,
                    format!("result of {name} exceeds the limit of {MAX_OUTPUT} bytes"),
                );
            }
            Value::Str(s) => s.len(),
            Value::List(l) => l.len(),
            Value::Map(m) => m.len(),
            _ => 1,
        };
        if matches!(v, Value::List(_) | Value::Map(_)) {
            if size > MAX_ELEMENTS {
                return fail(
                    pos,
                    format!("result of {name} exceeds the limit of {MAX_ELEMENTS} elements"),
                );
            }
            if v.nesting_exceeds(MAX_NESTING) {
                return fail(
                    pos,
                    format!("result of {name} exceeds the nesting limit of {MAX_NESTING}"),
                );
            }
        }
        self.work = self.work.saturating_add(size.max(1));
        if self.work > MAX_WORK {
            return fail(pos, "template exceeds the work limit");
        }
        Ok(())
    }
}

/// The template data for the secret values: a map of string to string.
pub(crate) fn data_from(values: &BTreeMap<String, Vec<u8>>) -> Value {
    Value::map(
        values
            .iter()
            .map(|(k, v)| (k.clone(), Value::str(v)))
            .collect(),
    )
}
