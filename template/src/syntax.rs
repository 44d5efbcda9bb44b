//! Lexer and parser for the Go `text/template` language.
//!
//! The template text is split into text and actions; each action is
//! tokenized and parsed into a tree of [`Node`]s. Positions are byte offsets
//! into the source, turned into line/column only when an error is reported.

use std::collections::HashMap;

/// One token inside an action.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Dot,
    Field(String),
    Variable(String),
    Ident(String),
    Str(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    LParen,
    RParen,
    Pipe,
    Comma,
    Declare,
    Assign,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
    /// Whitespace precedes this token (separates arguments / field chains).
    spaced: bool,
}

/// A parse failure at a byte offset.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub(crate) pos: usize,
    pub(crate) message: String,
}

type PResult<T> = Result<T, SyntaxError>;

fn err<T>(pos: usize, message: impl Into<String>) -> PResult<T> {
    Err(SyntaxError {
        pos,
        message: message.into(),
    })
}

/// A node of the parse tree.
#[derive(Debug)]
pub(crate) enum Node {
    Text(Vec<u8>),
    Action(Pipeline),
    If {
        pipe: Pipeline,
        body: Vec<Node>,
        else_body: Option<Vec<Node>>,
    },
    With {
        pipe: Pipeline,
        body: Vec<Node>,
        else_body: Option<Vec<Node>>,
    },
    Range {
        pipe: Pipeline,
        body: Vec<Node>,
        else_body: Option<Vec<Node>>,
    },
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipeline>,
    },
    Break,
    Continue,
}

/// `$a, $b := cmd | cmd`.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) pos: usize,
    pub(crate) decl: Vec<String>,
    pub(crate) assign: Assignment,
    pub(crate) cmds: Vec<Command>,
}

/// Whether a pipeline's variables are declared (`:=`) or assigned (`=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Assignment {
    Declare,
    Assign,
}

/// One command of a pipeline: a function call or a single operand.
#[derive(Debug)]
pub(crate) struct Command {
    pub(crate) pos: usize,
    pub(crate) args: Vec<Operand>,
}

/// An operand (argument) of a command.
#[derive(Debug)]
pub(crate) enum Operand {
    Dot(usize),
    /// `.a.b` evaluated on dot.
    Field(usize, Vec<String>),
    /// `$x.a.b` (`$` is the root).
    Variable(usize, String, Vec<String>),
    /// `(pipeline).a.b`.
    Chain(usize, Box<Pipeline>, Vec<String>),
    Function(usize, String),
    Str(Vec<u8>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil(usize),
}

impl Operand {
    pub(crate) fn pos(&self) -> Option<usize> {
        match self {
            Operand::Dot(p)
            | Operand::Field(p, _)
            | Operand::Variable(p, _, _)
            | Operand::Chain(p, _, _)
            | Operand::Function(p, _)
            | Operand::Nil(p) => Some(*p),
            _ => None,
        }
    }
}

/// How the parser should treat an identifier used as a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FunctionStatus {
    Defined,
    /// A Sprig/ESO function this crate does not implement.
    Unsupported,
    Undefined,
}

/// A parsed template: the main tree plus `define`d templates.
#[derive(Debug)]
pub(crate) struct Tree {
    pub(crate) root: Vec<Node>,
    pub(crate) defines: HashMap<String, Vec<Node>>,
}

/// Parse `src`. `lookup` tells which function names exist.
pub(crate) fn parse(src: &str, lookup: &dyn Fn(&str) -> FunctionStatus) -> PResult<Tree> {
    let items = split(src)?;
    let mut parser = Parser {
        items,
        next: 0,
        lookup,
        vars: vec!["$".to_string()],
        defines: HashMap::new(),
        range_depth: 0,
        nesting: 0,
    };
    let (root, end) = parser.list()?;
    if let Some(end) = end {
        let (pos, what) = match end {
            Terminator::End(p) => (p, "{{end}}"),
            Terminator::Else(p, _) => (p, "{{else}}"),
        };
        return err(pos, format!("unexpected {what}"));
    }
    Ok(Tree {
        root,
        defines: parser.defines,
    })
}

// ---------------------------------------------------------------- lexing

enum Item {
    Text(Vec<u8>),
    /// An action's tokens; `pos` is the offset of its `{{`.
    Action {
        pos: usize,
        tokens: Vec<Token>,
    },
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Split the source into text and tokenized actions, applying trim markers.
fn split(src: &str) -> PResult<Vec<Item>> {
    let bytes = src.as_bytes();
    let mut items = Vec::new();
    let mut pos = 0;
    let mut trim_next_text = false;
    loop {
        let start = src[pos..].find(LEFT).map(|i| pos + i);
        let text_end = start.unwrap_or(src.len());
        let mut text = &bytes[pos..text_end];
        if trim_next_text {
            while let Some((c, rest)) = text.split_first() {
                if !is_space(*c) {
                    break;
                }
                text = rest;
            }
        }
        let Some(start) = start else {
            if !text.is_empty() {
                items.push(Item::Text(text.to_vec()));
            }
            break;
        };
        let mut inner = start + LEFT.len();
        // Left trim marker: "{{- " (a '-' followed by whitespace).
        if bytes.get(inner) == Some(&b'-') && bytes.get(inner + 1).is_some_and(|c| is_space(*c)) {
            while let Some((c, rest)) = text.split_last() {
                if !is_space(*c) {
                    break;
                }
                text = rest;
            }
            inner += 2;
        }
        if !text.is_empty() {
            items.push(Item::Text(text.to_vec()));
        }
        // Comments: "{{/*" ... "*/}}" (with optional trim markers around).
        if src[inner..].starts_with("/*") {
            let Some(close) = src[inner + 2..].find("*/") else {
                return err(start, "unclosed comment");
            };
            let after = inner + 2 + close + 2;
            let (end, trim) = if src[after..].starts_with(RIGHT) {
                (after + RIGHT.len(), false)
            } else if bytes.get(after).is_some_and(|c| is_space(*c))
                && src[after + 1..].starts_with("-}}")
            {
                (after + 4, true)
            } else {
                return err(start, "comment ends before closing delimiter");
            };
            trim_next_text = trim;
            pos = end;
            continue;
        }
        let (tokens, end, trim) = lex_action(src, inner, start)?;
        items.push(Item::Action { pos: start, tokens });
        trim_next_text = trim;
        pos = end;
    }
    Ok(items)
}

/// Tokenize one action starting at `pos`; returns the tokens, the offset
/// after the closing delimiter and whether it had a right trim marker.
fn lex_action(src: &str, mut pos: usize, open: usize) -> PResult<(Vec<Token>, usize, bool)> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut spaced = true;
    let mut paren_depth = 0usize;
    loop {
        let Some(&c) = bytes.get(pos) else {
            return err(open, "unclosed action");
        };
        if is_space(c) {
            if src[pos + 1..].starts_with("-}}") {
                return Ok((tokens, pos + 4, true));
            }
            spaced = true;
            pos += 1;
            continue;
        }
        if src[pos..].starts_with(RIGHT) {
            if paren_depth > 0 {
                return err(pos, "unclosed left paren");
            }
            return Ok((tokens, pos + RIGHT.len(), false));
        }
        let start = pos;
        let tok = match c {
            b'|' => {
                pos += 1;
                Tok::Pipe
            }
            b'(' => {
                pos += 1;
                paren_depth += 1;
                Tok::LParen
            }
            b')' => {
                if paren_depth == 0 {
                    return err(pos, "unexpected right paren");
                }
                paren_depth -= 1;
                pos += 1;
                Tok::RParen
            }
            b',' => {
                pos += 1;
                Tok::Comma
            }
            b':' => {
                if bytes.get(pos + 1) != Some(&b'=') {
                    return err(pos, "expected :=");
                }
                pos += 2;
                Tok::Declare
            }
            b'=' => {
                pos += 1;
                Tok::Assign
            }
            b'"' => {
                let (s, end) = lex_quoted(src, pos)?;
                pos = end;
                Tok::Str(s)
            }
            b'`' => {
                let Some(close) = src[pos + 1..].find('`') else {
                    return err(pos, "unterminated raw quoted string");
                };
                let s = src.as_bytes()[pos + 1..pos + 1 + close].to_vec();
                pos = pos + 1 + close + 1;
                Tok::Str(s)
            }
            b'\'' => {
                let (ch, end) = lex_char(src, pos)?;
                pos = end;
                Tok::Int(i64::from(ch))
            }
            b'$' => {
                let end = ident_end(bytes, pos + 1);
                let name = src[pos..end].to_string();
                pos = end;
                Tok::Variable(name)
            }
            b'.' if bytes.get(pos + 1).is_some_and(|c| c.is_ascii_digit()) => {
                let (t, end) = lex_number(src, pos)?;
                pos = end;
                t
            }
            b'.' => {
                let end = ident_end(bytes, pos + 1);
                if end == pos + 1 {
                    pos += 1;
                    Tok::Dot
                } else {
                    let name = src[pos + 1..end].to_string();
                    pos = end;
                    Tok::Field(name)
                }
            }
            b'0'..=b'9' => {
                let (t, end) = lex_number(src, pos)?;
                pos = end;
                t
            }
            b'+' | b'-'
                if bytes
                    .get(pos + 1)
                    .is_some_and(|c| c.is_ascii_digit() || *c == b'.') =>
            {
                let (t, end) = lex_number(src, pos)?;
                pos = end;
                t
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let end = ident_end(bytes, pos);
                let word = &src[pos..end];
                pos = end;
                match word {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(word.to_string()),
                }
            }
            _ => {
                let ch = src[pos..].chars().next().unwrap_or('?');
                return err(pos, format!("unexpected {ch:?} in command"));
            }
        };
        tokens.push(Token {
            tok,
            pos: start,
            spaced,
        });
        spaced = false;
    }
}

fn ident_end(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(&c) = bytes.get(pos) {
        if c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80 {
            pos += 1;
        } else {
            break;
        }
    }
    pos
}

fn lex_number(src: &str, start: usize) -> PResult<(Tok, usize)> {
    let bytes = src.as_bytes();
    let mut pos = start;
    if matches!(bytes[pos], b'+' | b'-') {
        pos += 1;
    }
    let hex = src[pos..].starts_with("0x") || src[pos..].starts_with("0X");
    while let Some(&c) = bytes.get(pos) {
        let exp_sign = matches!(c, b'+' | b'-')
            && pos > start
            && if hex {
                matches!(bytes[pos - 1], b'p' | b'P')
            } else {
                matches!(bytes[pos - 1], b'e' | b'E')
            };
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign {
            pos += 1;
        } else {
            break;
        }
    }
    let text = &src[start..pos];
    match parse_number(text) {
        Some(t) => Ok((t, pos)),
        None => err(start, format!("bad number syntax: {text:?}")),
    }
}

fn parse_number(text: &str) -> Option<Tok> {
    let (neg, body) = match text.as_bytes()[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1
        && lower.starts_with('0')
        && lower.bytes().all(|c| c.is_ascii_digit() || c == b'_')
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let is_float_text = if radix == 16 {
        digits.contains(['.', 'p'])
    } else {
        digits.contains(['.', 'e'])
    };
    if !is_float_text {
        if digits.starts_with('_')
            || digits.ends_with('_')
            || digits.contains("__")
            || digits.is_empty()
        {
            return None;
        }
        let clean: String = digits.chars().filter(|c| *c != '_').collect();
        let magnitude = u64::from_str_radix(&clean, radix).ok()?;
        let value = if neg {
            if magnitude > i64::MAX as u64 + 1 {
                return None;
            }
            (magnitude as i128)
                .checked_neg()
                .and_then(|v| i64::try_from(v).ok())?
        } else {
            i64::try_from(magnitude).ok()?
        };
        return Some(Tok::Int(value));
    }
    if radix != 10 {
        // Hex floats are rare in templates; not supported.
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let f: f64 = clean.parse().ok()?;
    Some(Tok::Float(if neg { -f } else { f }))
}

/// Go's interpreted string literal (strconv.Unquote).
fn lex_quoted(src: &str, start: usize) -> PResult<(Vec<u8>, usize)> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut pos = start + 1;
    loop {
        let Some(&c) = bytes.get(pos) else {
            return err(start, "unterminated quoted string");
        };
        match c {
            b'"' => return Ok((out, pos + 1)),
            b'\n' => return err(start, "unterminated quoted string"),
            b'\\' => {
                let (end, _) = unescape(src, pos, b'"', &mut out)?;
                pos = end;
            }
            _ => {
                out.push(c);
                pos += 1;
            }
        }
    }
}

fn lex_char(src: &str, start: usize) -> PResult<(u32, usize)> {
    let bytes = src.as_bytes();
    let pos = start + 1;
    let (value, end) = match bytes.get(pos) {
        Some(b'\\') => {
            let mut buf = Vec::new();
            let (end, rune) = unescape(src, pos, b'\'', &mut buf)?;
            let value = match rune {
                Some(r) => r,
                None => buf.first().map(|b| u32::from(*b)).unwrap_or(0),
            };
            (value, end)
        }
        Some(_) => {
            let ch = src[pos..].chars().next().unwrap_or('\0');
            (ch as u32, pos + ch.len_utf8())
        }
        None => return err(start, "unterminated character constant"),
    };
    if bytes.get(end) != Some(&b'\'') {
        return err(start, "unterminated character constant");
    }
    Ok((value, end + 1))
}

/// Decode one escape sequence at `pos` (a backslash); appends the bytes to
/// `out` and returns the offset after it, plus the rune for `\u`/`\U`/simple escapes.
fn unescape(src: &str, pos: usize, quote: u8, out: &mut Vec<u8>) -> PResult<(usize, Option<u32>)> {
    let bytes = src.as_bytes();
    let Some(&c) = bytes.get(pos + 1) else {
        return err(pos, "unterminated escape sequence");
    };
    let simple = |b: u8| -> Option<u8> {
        Some(match b {
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'v' => 0x0b,
            b'\\' => b'\\',
            _ => return None,
        })
    };
    if let Some(b) = simple(c) {
        out.push(b);
        return Ok((pos + 2, Some(u32::from(b))));
    }
    if c == quote {
        out.push(c);
        return Ok((pos + 2, Some(u32::from(c))));
    }
    let hex_digits = |n: usize| -> PResult<u32> {
        let text = src.get(pos + 2..pos + 2 + n).ok_or(SyntaxError {
            pos,
            message: "invalid escape sequence".into(),
        })?;
        u32::from_str_radix(text, 16).map_err(|_| SyntaxError {
            pos,
            message: "invalid escape sequence".into(),
        })
    };
    match c {
        b'x' => {
            let v = hex_digits(2)?;
            out.push(v as u8);
            Ok((pos + 4, None))
        }
        b'u' | b'U' => {
            let n = if c == b'u' { 4 } else { 8 };
            let v = hex_digits(n)?;
            let ch = char::from_u32(v).ok_or(SyntaxError {
                pos,
                message: "invalid unicode escape".into(),
            })?;
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            Ok((pos + 2 + n, Some(v)))
        }
        b'0'..=b'7' => {
            let text = src.get(pos + 1..pos + 4).unwrap_or("");
            let v = u32::from_str_radix(text, 8)
                .ok()
                .filter(|v| *v <= 255 && text.len() == 3)
                .ok_or(SyntaxError {
                    pos,
                    message: "invalid octal escape".into(),
                })?;
            out.push(v as u8);
            Ok((pos + 4, None))
        }
        _ => err(pos, "unknown escape sequence"),
    }
}

// ---------------------------------------------------------------- parsing

enum Terminator {
    End(usize),
    /// `{{else ...}}` with the tokens after `else`.
    Else(usize, Vec<Token>),
}

struct Parser<'a> {
    items: Vec<Item>,
    next: usize,
    lookup: &'a dyn Fn(&str) -> FunctionStatus,
    /// Variables in scope (innermost last).
    vars: Vec<String>,
    defines: HashMap<String, Vec<Node>>,
    range_depth: usize,
    /// Nesting of control structures and parentheses (bounded, so hostile
    /// input cannot overflow the stack).
    nesting: usize,
}

const MAX_PARSE_NESTING: usize = 100;

impl Parser<'_> {
    /// Parse nodes until `{{end}}`, `{{else}}` or the end of input.
    fn list(&mut self) -> PResult<(Vec<Node>, Option<Terminator>)> {
        let mut nodes = Vec::new();
        while self.next < self.items.len() {
            let item = std::mem::replace(&mut self.items[self.next], Item::Text(Vec::new()));
            self.next += 1;
            match item {
                Item::Text(t) => nodes.push(Node::Text(t)),
                Item::Action { pos, tokens } => {
                    if let Some(term) = self.action(pos, tokens, &mut nodes)? {
                        return Ok((nodes, Some(term)));
                    }
                }
            }
        }
        Ok((nodes, None))
    }

    fn action(
        &mut self,
        pos: usize,
        tokens: Vec<Token>,
        nodes: &mut Vec<Node>,
    ) -> PResult<Option<Terminator>> {
        let Some(first) = tokens.first() else {
            return err(pos, "missing value for command");
        };
        let keyword = match &first.tok {
            Tok::Ident(w) => w.as_str(),
            _ => "",
        };
        let rest = || tokens[1..].to_vec();
        match keyword {
            "end" => {
                if tokens.len() > 1 {
                    return err(tokens[1].pos, "unexpected token in end");
                }
                Ok(Some(Terminator::End(first.pos)))
            }
            "else" => Ok(Some(Terminator::Else(first.pos, rest()))),
            "if" | "with" | "range" => {
                let node = self.control(keyword, first.pos, rest())?;
                nodes.push(node);
                Ok(None)
            }
            "break" | "continue" => {
                if tokens.len() > 1 {
                    return err(
                        tokens[1].pos,
                        format!("unexpected token in {{{{{keyword}}}}}"),
                    );
                }
                if self.range_depth == 0 {
                    return err(
                        first.pos,
                        format!("{{{{{keyword}}}}} outside {{{{range}}}}"),
                    );
                }
                nodes.push(if keyword == "break" {
                    Node::Break
                } else {
                    Node::Continue
                });
                Ok(None)
            }
            "define" => {
                if self.nesting > 0 {
                    return err(first.pos, "{{define}} is only allowed at the top level");
                }
                let name = self.template_name(first.pos, &tokens, "define")?;
                if tokens.len() > 2 {
                    return err(tokens[2].pos, "unexpected token in define clause");
                }
                let body = self.isolated_body(first.pos)?;
                self.defines.insert(name, body);
                Ok(None)
            }
            "template" => {
                let name = self.template_name(first.pos, &tokens, "template")?;
                let pipe = if tokens.len() > 2 {
                    Some(self.pipeline(first.pos, &tokens[2..], false)?)
                } else {
                    None
                };
                nodes.push(Node::Template {
                    pos: first.pos,
                    name,
                    pipe,
                });
                Ok(None)
            }
            "block" => {
                let name = self.template_name(first.pos, &tokens, "block")?;
                if tokens.len() < 3 {
                    return err(first.pos, "missing pipeline in block clause");
                }
                let pipe = self.pipeline(first.pos, &tokens[2..], false)?;
                let body = self.isolated_body(first.pos)?;
                self.defines.insert(name.clone(), body);
                nodes.push(Node::Template {
                    pos: first.pos,
                    name,
                    pipe: Some(pipe),
                });
                Ok(None)
            }
            _ => {
                let pipe = self.pipeline(pos, &tokens, true)?;
                if pipe.decl.len() > 1 {
                    return err(pos, "too many declarations in command");
                }
                nodes.push(Node::Action(pipe));
                Ok(None)
            }
        }
    }

    fn template_name(&self, pos: usize, tokens: &[Token], clause: &str) -> PResult<String> {
        match tokens.get(1).map(|t| &t.tok) {
            Some(Tok::Str(s)) => Ok(String::from_utf8_lossy(s).into_owned()),
            _ => err(
                pos,
                format!("expected string constant as the name in {clause} clause"),
            ),
        }
    }

    /// The body of `define`/`block`: its own variable scope (only `$`).
    fn isolated_body(&mut self, pos: usize) -> PResult<Vec<Node>> {
        if self.nesting >= MAX_PARSE_NESTING {
            return err(
                pos,
                format!("nesting deeper than {MAX_PARSE_NESTING} levels"),
            );
        }
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let saved_depth = std::mem::replace(&mut self.range_depth, 0);
        self.nesting += 1;
        let result = self.list();
        self.nesting -= 1;
        self.vars = saved_vars;
        self.range_depth = saved_depth;
        match result? {
            (body, Some(Terminator::End(_))) => Ok(body),
            (_, Some(Terminator::Else(p, _))) => err(p, "unexpected {{else}} in define clause"),
            (_, None) => err(pos, "unexpected EOF: missing {{end}}"),
        }
    }

    /// `if`/`with`/`range` up to the matching `{{end}}` (handles `else if`).
    fn control(&mut self, keyword: &str, pos: usize, tokens: Vec<Token>) -> PResult<Node> {
        self.nesting += 1;
        let result = self.control_inner(keyword, pos, tokens);
        self.nesting -= 1;
        result
    }

    fn control_inner(&mut self, keyword: &str, pos: usize, tokens: Vec<Token>) -> PResult<Node> {
        if self.nesting > MAX_PARSE_NESTING {
            return err(
                pos,
                format!("nesting deeper than {MAX_PARSE_NESTING} levels"),
            );
        }
        let scope = self.vars.len();
        let range = keyword == "range";
        if tokens.is_empty() {
            return err(pos, format!("missing value for {keyword}"));
        }
        let pipe = self.pipeline(pos, &tokens, true)?;
        let after_pipe = self.vars.len();
        if range {
            if pipe.decl.len() > 2 {
                return err(pos, "too many declarations in range");
            }
            self.range_depth += 1;
        } else if pipe.decl.len() > 1 {
            return err(pos, format!("too many declarations in {keyword}"));
        }
        let body = self.list();
        if range {
            self.range_depth -= 1;
        }
        let (body, term) = body?;
        // Variables declared in the pipeline stay visible in the else branch
        // (as in Go); those declared inside the body do not.
        self.vars.truncate(after_pipe);
        let else_body = match term {
            None => {
                return err(
                    pos,
                    format!("unexpected EOF: missing {{{{end}}}} for {{{{{keyword}}}}}"),
                );
            }
            Some(Terminator::End(_)) => None,
            Some(Terminator::Else(epos, rest)) => {
                // `{{else if}}` inside `if`, `{{else with}}` inside `with` (as Go).
                let chained = matches!(rest.first().map(|t| &t.tok), Some(Tok::Ident(w)) if w == keyword && !range);
                if chained {
                    let Some(Tok::Ident(w)) = rest.first().map(|t| t.tok.clone()) else {
                        return err(epos, "bad else clause");
                    };
                    Some(vec![self.control(&w, rest[0].pos, rest[1..].to_vec())?])
                } else if !rest.is_empty() {
                    return err(rest[0].pos, "unexpected token in else clause");
                } else {
                    let (else_body, term) = self.list()?;
                    self.vars.truncate(after_pipe);
                    match term {
                        Some(Terminator::End(_)) => Some(else_body),
                        Some(Terminator::Else(p, _)) => {
                            return err(p, "expected end; found {{else}}");
                        }
                        None => {
                            return err(
                                pos,
                                format!(
                                    "unexpected EOF: missing {{{{end}}}} for {{{{{keyword}}}}}"
                                ),
                            );
                        }
                    }
                }
            }
        };
        self.vars.truncate(scope);
        Ok(match keyword {
            "if" => Node::If {
                pipe,
                body,
                else_body,
            },
            "with" => Node::With {
                pipe,
                body,
                else_body,
            },
            _ => Node::Range {
                pipe,
                body,
                else_body,
            },
        })
    }

    /// Parse a pipeline; declarations allowed when `decl_ok`.
    fn pipeline(&mut self, pos: usize, tokens: &[Token], decl_ok: bool) -> PResult<Pipeline> {
        let mut i = 0;
        let mut decl = Vec::new();
        let mut assign = Assignment::Declare;
        // Look for `$a :=`, `$a =`, `$a, $b :=`.
        if decl_ok {
            let mut j = 0;
            let mut names = Vec::new();
            while let Some(Tok::Variable(name)) = tokens.get(j).map(|t| &t.tok) {
                names.push((tokens[j].pos, name.clone()));
                match tokens.get(j + 1).map(|t| &t.tok) {
                    Some(Tok::Comma) => j += 2,
                    Some(Tok::Declare) | Some(Tok::Assign) => {
                        j += 1;
                        break;
                    }
                    _ => {
                        names.clear();
                        break;
                    }
                }
            }
            if !names.is_empty()
                && matches!(
                    tokens.get(j).map(|t| &t.tok),
                    Some(Tok::Declare) | Some(Tok::Assign)
                )
            {
                assign = if tokens[j].tok == Tok::Declare {
                    Assignment::Declare
                } else {
                    Assignment::Assign
                };
                for (vpos, name) in &names {
                    if assign == Assignment::Assign && !self.vars.contains(name) {
                        return err(*vpos, format!("undefined variable {name:?}"));
                    }
                }
                decl = names.into_iter().map(|(_, n)| n).collect();
                i = j + 1;
            }
        }
        let mut cmds = Vec::new();
        let mut rest = &tokens[i..];
        loop {
            let cmd_pos = rest.first().map(|t| t.pos).unwrap_or(pos);
            let (cmd, used) = self.command(cmd_pos, rest)?;
            cmds.push(cmd);
            rest = &rest[used..];
            match rest.first() {
                None => break,
                Some(t) if t.tok == Tok::Pipe => {
                    rest = &rest[1..];
                    // Go accepts a trailing `|` before the closing delimiter.
                    if rest.is_empty() {
                        break;
                    }
                }
                Some(t) => return err(t.pos, "unexpected token in pipeline"),
            }
        }
        if cmds.is_empty() {
            return err(pos, "missing command");
        }
        if assign == Assignment::Declare {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipeline {
            pos,
            decl,
            assign,
            cmds,
        })
    }

    /// Parse one command; returns it and the number of tokens consumed
    /// (stops before `|` or the end).
    fn command(&mut self, pos: usize, tokens: &[Token]) -> PResult<(Command, usize)> {
        let mut args = Vec::new();
        let mut i = 0;
        while i < tokens.len() {
            match tokens[i].tok {
                Tok::Pipe => break,
                Tok::RParen => return err(tokens[i].pos, "unexpected right paren"),
                _ => {}
            }
            if !args.is_empty() && !tokens[i].spaced && tokens[i].tok != Tok::LParen {
                return err(tokens[i].pos, "missing space between arguments");
            }
            let (operand, used) = self.operand(&tokens[i..])?;
            args.push(operand);
            i += used;
        }
        if args.is_empty() {
            return err(pos, "missing value for command");
        }
        Ok((Command { pos, args }, i))
    }

    /// One operand plus its field chain.
    fn operand(&mut self, tokens: &[Token]) -> PResult<(Operand, usize)> {
        let t = &tokens[0];
        let mut used = 1;
        let chain = |used: &mut usize| -> Vec<String> {
            let mut fields = Vec::new();
            while let Some(Token {
                tok: Tok::Field(f),
                spaced: false,
                ..
            }) = tokens.get(*used)
            {
                fields.push(f.clone());
                *used += 1;
            }
            fields
        };
        let operand = match &t.tok {
            Tok::Dot => Operand::Dot(t.pos),
            Tok::Field(f) => {
                let mut fields = vec![f.clone()];
                fields.extend(chain(&mut used));
                Operand::Field(t.pos, fields)
            }
            Tok::Variable(name) => {
                if !self.vars.contains(name) {
                    return err(t.pos, format!("undefined variable {name:?}"));
                }
                Operand::Variable(t.pos, name.clone(), chain(&mut used))
            }
            Tok::LParen => {
                // Find the matching paren.
                let mut depth = 0usize;
                let mut close = None;
                for (k, tok) in tokens.iter().enumerate() {
                    match tok.tok {
                        Tok::LParen => depth += 1,
                        Tok::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                close = Some(k);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let Some(close) = close else {
                    return err(t.pos, "unclosed left paren");
                };
                if close == 1 {
                    return err(t.pos, "missing command in parentheses");
                }
                self.nesting += 1;
                let pipe = if self.nesting > MAX_PARSE_NESTING {
                    err(
                        t.pos,
                        format!("nesting deeper than {MAX_PARSE_NESTING} levels"),
                    )
                } else {
                    self.pipeline(t.pos, &tokens[1..close], true)
                };
                self.nesting -= 1;
                let pipe = pipe?;
                used = close + 1;
                Operand::Chain(t.pos, Box::new(pipe), chain(&mut used))
            }
            Tok::Ident(name) => {
                match (self.lookup)(name) {
                    FunctionStatus::Defined => {}
                    FunctionStatus::Unsupported => {
                        return err(
                            t.pos,
                            format!("function {name:?} is not supported by sealkit"),
                        );
                    }
                    FunctionStatus::Undefined => {
                        return err(t.pos, format!("function {name:?} not defined"));
                    }
                }
                Operand::Function(t.pos, name.clone())
            }
            Tok::Str(s) => Operand::Str(s.clone()),
            Tok::Int(v) => Operand::Int(*v),
            Tok::Float(v) => Operand::Float(*v),
            Tok::Bool(b) => Operand::Bool(*b),
            Tok::Nil => Operand::Nil(t.pos),
            Tok::Pipe | Tok::RParen | Tok::Comma | Tok::Declare | Tok::Assign => {
                return err(t.pos, "unexpected token in operand");
            }
        };
        if let Some(Token {
            tok: Tok::Field(_),
            spaced: false,
            pos,
            ..
        }) = tokens.get(used)
        {
            return err(*pos, "unexpected . after term");
        }
        Ok((operand, used))
    }
}

/// Line and column (both 1-based, column in characters) of a byte offset.
pub(crate) fn line_column(src: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(src.len());
    while !src.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &src[..pos];
    let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let column = src
        .get(line_start..pos)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}
