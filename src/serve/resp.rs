//! RESP2, the Redis protocol: requests (arrays of bulk strings, or inline lines as telnet
//! sends them) and the replies the server writes.
//!
//! ```text
//!  request   *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
//!  inline    word word word\r\n            (no '*' first: split on spaces)
//!  replies   +simple\r\n  -ERR text\r\n  :<int>\r\n  $<len>\r\n<bytes>\r\n  $-1\r\n (nil)
//!            *<n>\r\n followed by n replies;  *-1\r\n (nil array)
//! ```
//!
//! The parser works on the bytes received so far and either returns one whole request and
//! how many bytes it used, says it needs more, or rejects the stream. Every length is
//! checked against [`Limits`] before anything is allocated for it, so a hostile length
//! (2^40) costs nothing but the error.

/// Longest line (a length header or an inline request), as in Redis.
pub const MAX_LINE: usize = 64 << 10;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest bulk string accepted (Redis' proto-max-bulk-len).
    pub max_bulk_len: usize,
    /// Most arguments in one request.
    pub max_args: usize,
    /// Where the bulk limit comes from, for the error: a flag, or "before AUTH".
    pub source: &'static str,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 64 << 20,
            max_args: 1 << 20,
            source: "--max-bulk-len",
        }
    }
}

/// The stream cannot be parsed any further: reply with this and close the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

pub type Args = Vec<Vec<u8>>;

/// One request from the front of `buf` with a fresh [`Parser`]: `Ok(Some((args, used)))`,
/// `Ok(None)` when more bytes are needed. An empty `args` (a blank inline line, `*0`) is a
/// request to ignore.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(Args, usize)>, ProtocolError> {
    Parser::default().parse(buf, limits)
}

/// A request parser that keeps what it learnt about an incomplete request between reads,
/// so a request arriving in many reads costs work linear in its size: re-parsing from its
/// first byte on every read made a request of many small arguments quadratic (minutes of
/// one tokio worker for a 64 MiB pipeline of one-byte arguments).
///
/// Contract: after `Ok(None)` the next call must get the same request start with bytes
/// appended (the connection drains only whole requests, so the incomplete one stays first).
#[derive(Debug, Default)]
pub struct Parser {
    partial: Option<Partial>,
    /// Bytes of the pending line (from the request start) already searched for its LF.
    scanned: usize,
    /// Bytes searched or copied since the parser was made: a work counter for tests.
    examined: u64,
}

#[derive(Debug)]
struct Partial {
    expected: usize,
    args: Args,
    /// Where the next argument (or the pending bulk's data) starts.
    at: usize,
    /// The bulk whose `$len` line is parsed but whose data has not all arrived.
    bulk_len: Option<usize>,
}

impl Parser {
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// One request from the front of `buf` (see the type's contract): `Ok(Some((args,
    /// used)))` or `Ok(None)` when more bytes are needed. After an error the stream cannot
    /// be parsed any further.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Args, usize)>, ProtocolError> {
        let r = match buf.first() {
            None => Ok(None),
            Some(b'*') => self.parse_array(buf, limits),
            Some(_) => self.parse_inline(buf, limits),
        };
        if !matches!(r, Ok(None)) {
            self.partial = None;
            self.scanned = 0;
        }
        r
    }

    /// Offset of the LF ending the line that starts at `at`, searching only bytes not
    /// searched before; None when it has not arrived.
    fn find_lf(&mut self, buf: &[u8], at: usize) -> Option<usize> {
        let from = self.scanned.max(at).min(buf.len());
        match buf[from..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.examined += i as u64 + 1;
                self.scanned = 0;
                Some(from + i)
            }
            None => {
                self.examined += (buf.len() - from) as u64;
                self.scanned = buf.len();
                None
            }
        }
    }

    /// The line starting at `at` without its CRLF, and the offset after it.
    fn line<'a>(
        &mut self,
        buf: &'a [u8],
        at: usize,
        what: &str,
    ) -> Result<Option<(&'a [u8], usize)>, ProtocolError> {
        match self.find_lf(buf, at) {
            Some(nl) => {
                if nl == at || buf[nl - 1] != b'\r' {
                    return Err(ProtocolError(format!("{what} line not terminated by CRLF")));
                }
                Ok(Some((&buf[at..nl - 1], nl + 1)))
            }
            None if buf.len() - at > MAX_LINE => Err(ProtocolError(format!("too big {what} line"))),
            None => Ok(None),
        }
    }

    fn parse_array(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Args, usize)>, ProtocolError> {
        let mut p = match self.partial.take() {
            Some(p) => p,
            None => {
                let Some((head, at)) = self.line(buf, 1, "multibulk count")? else {
                    return Ok(None);
                };
                let count = number(head, "multibulk length")?;
                if count <= 0 {
                    return Ok(Some((Vec::new(), at)));
                }
                if count as u64 > limits.max_args as u64 {
                    return Err(ProtocolError("invalid multibulk length".into()));
                }
                let count = count as usize;
                Partial {
                    expected: count,
                    // Reserve for what is already here, not what the header claims.
                    args: Vec::with_capacity(count.min(1024)),
                    at,
                    bulk_len: None,
                }
            }
        };
        while p.args.len() < p.expected {
            let len = match p.bulk_len {
                Some(len) => len,
                None => {
                    match buf.get(p.at) {
                        None => {
                            self.partial = Some(p);
                            return Ok(None);
                        }
                        Some(b'$') => {}
                        Some(&other) => {
                            return Err(ProtocolError(format!(
                                "expected '$', got '{}'",
                                char::from(other).escape_default()
                            )));
                        }
                    }
                    let Some((len_text, data_at)) = self.line(buf, p.at + 1, "bulk length")? else {
                        self.partial = Some(p);
                        return Ok(None);
                    };
                    let len = number(len_text, "bulk length")?;
                    if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                        return Err(ProtocolError(format!(
                            "invalid bulk length {len} (the limit is {} bytes, {})",
                            limits.max_bulk_len, limits.source
                        )));
                    }
                    p.at = data_at;
                    len as usize
                }
            };
            let end = p.at + len;
            if buf.len() < end + 2 {
                p.bulk_len = Some(len);
                self.partial = Some(p);
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ProtocolError("bulk string not terminated by CRLF".into()));
            }
            self.examined += len as u64 + 2;
            p.args.push(buf[p.at..end].to_vec());
            p.at = end + 2;
            p.bulk_len = None;
        }
        Ok(Some((p.args, p.at)))
    }

    /// An inline request (telnet style) is held to the same limits as an array: before
    /// AUTH they bound what an unauthenticated client can make the server hold.
    fn parse_inline(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<(Args, usize)>, ProtocolError> {
        let Some(nl) = self.find_lf(buf, 0) else {
            if buf.len() > MAX_LINE {
                return Err(ProtocolError("too big inline request".into()));
            }
            return Ok(None);
        };
        let text = buf[..nl].strip_suffix(b"\r").unwrap_or(&buf[..nl]);
        let mut args = Vec::new();
        for word in text
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
        {
            if args.len() == limits.max_args {
                return Err(ProtocolError("invalid multibulk length".into()));
            }
            if word.len() > limits.max_bulk_len {
                return Err(ProtocolError(format!(
                    "invalid bulk length {} (the limit is {} bytes, {})",
                    word.len(),
                    limits.max_bulk_len,
                    limits.source
                )));
            }
            args.push(word.to_vec());
        }
        Ok(Some((args, nl + 1)))
    }
}

fn number(text: &[u8], what: &str) -> Result<i64, ProtocolError> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| ProtocolError(format!("invalid {what}")))
}

/// A reply, written with [`Reply::encode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(&'static str),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
    NilArray,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Simple("OK")
    }

    /// An error reply; `text` starts with its code (ERR, NOAUTH, WRONGPASS, ...).
    pub fn err(text: impl Into<String>) -> Reply {
        Reply::Error(text.into())
    }

    pub fn bulk(b: impl Into<Vec<u8>>) -> Reply {
        Reply::Bulk(b.into())
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => line_reply(out, b'+', s.as_bytes()),
            Reply::Error(s) => line_reply(out, b'-', s.as_bytes()),
            Reply::Int(i) => line_reply(out, b':', i.to_string().as_bytes()),
            Reply::Bulk(b) => {
                line_reply(out, b'$', b.len().to_string().as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Reply::Nil => out.extend_from_slice(b"$-1\r\n"),
            Reply::Array(items) => {
                line_reply(out, b'*', items.len().to_string().as_bytes());
                for i in items {
                    i.encode(out);
                }
            }
            Reply::NilArray => out.extend_from_slice(b"*-1\r\n"),
        }
    }
}

fn line_reply(out: &mut Vec<u8>, tag: u8, text: &[u8]) {
    out.push(tag);
    // A CR or LF inside a simple string or error would end it early and desync the client.
    out.extend(
        text.iter()
            .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

/// Encodes a request as clients send it (used by `drkit status` and tests).
pub fn encode_request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    line_reply(&mut out, b'*', args.len().to_string().as_bytes());
    for a in args {
        line_reply(&mut out, b'$', a.len().to_string().as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(buf: &[u8]) -> Result<Option<(Args, usize)>, ProtocolError> {
        parse_request(buf, &Limits::default())
    }

    #[test]
    fn arrays_parse_whole_and_report_bytes_used() {
        let req = encode_request(&[b"SET", b"k", b"v\r\nx"]);
        let mut two = req.clone();
        two.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        let (args, used) = parse(&two).unwrap().unwrap();
        assert_eq!(
            args,
            vec![b"SET".to_vec(), b"k".to_vec(), b"v\r\nx".to_vec()]
        );
        assert_eq!(used, req.len());
        let (args, _) = parse(&two[used..]).unwrap().unwrap();
        assert_eq!(args, vec![b"PING".to_vec()]);
    }

    #[test]
    fn every_strict_prefix_is_incomplete() {
        let req = encode_request(&[b"MSET", b"a", b"1", b"bb", b""]);
        for cut in 0..req.len() {
            assert_eq!(parse(&req[..cut]).unwrap(), None, "cut at {cut}");
        }
    }

    #[test]
    fn hostile_lengths_are_refused_before_allocation() {
        let huge = format!("*1\r\n${}\r\n", 1u64 << 40);
        assert!(parse(huge.as_bytes()).is_err());
        assert!(parse(b"*1\r\n$-5\r\n").is_err());
        assert!(parse(b"*99999999999\r\n").is_err());
        assert!(parse(b"*x\r\n").is_err());
        assert!(parse(b"*1\r\n:5\r\n").is_err());
        assert!(
            parse(b"*1\r\n$1\r\nab\r\n").is_err(),
            "bulk longer than said"
        );
        assert!(parse(b"*1\n").is_err(), "LF without CR");
        let long = vec![b'*'; MAX_LINE + 2];
        assert!(parse(&long).is_err(), "unterminated header line");
        let small = Limits {
            max_bulk_len: 4,
            max_args: 2,
            source: "test",
        };
        assert!(parse_request(b"*1\r\n$5\r\n", &small).is_err());
        assert!(parse_request(b"*3\r\n", &small).is_err());
        // Found by the fuzzer: inline requests ignored both limits.
        assert!(
            parse_request(b"a b c\r\n", &small).is_err(),
            "three inline args"
        );
        assert!(
            parse_request(b"abcde\r\n", &small).is_err(),
            "a 5-byte inline arg"
        );
        assert_eq!(
            parse_request(b"ab cd\r\n", &small).unwrap(),
            Some((vec![b"ab".to_vec(), b"cd".to_vec()], 7))
        );
    }

    #[test]
    fn one_parser_fed_byte_by_byte_agrees_with_a_whole_parse() {
        let mut stream = encode_request(&[b"MSET", b"a", b"1", b"bb", b""]);
        stream.extend_from_slice(b"PING x\r\n*0\r\n");
        stream.extend(encode_request(&[b"GET", b"a\r\n"]));
        let limits = Limits::default();
        let mut whole = Vec::new();
        let mut at = 0;
        while let Some((args, used)) = parse(&stream[at..]).unwrap() {
            whole.push(args);
            at += used;
        }
        let mut fed = Vec::new();
        let mut parser = Parser::default();
        let mut start = 0;
        for end in 1..=stream.len() {
            if let Some((args, used)) = parser.parse(&stream[start..end], &limits).unwrap() {
                fed.push(args);
                start += used;
            }
        }
        assert_eq!(whole.len(), 4);
        assert_eq!(fed, whole);
    }

    #[test]
    fn a_request_of_many_small_args_in_chunks_parses_in_linear_work() {
        let n = 300_000;
        let mut req = format!("*{n}\r\n").into_bytes();
        for _ in 0..n {
            req.extend_from_slice(b"$1\r\na\r\n");
        }
        let limits = Limits::default();
        let mut parser = Parser::default();
        let mut done = None;
        for end in (64 << 10..req.len()).step_by(64 << 10).chain([req.len()]) {
            assert!(done.is_none(), "complete before its last byte");
            done = parser.parse(&req[..end], &limits).unwrap();
        }
        let (args, used) = done.expect("complete after the last chunk");
        assert_eq!((args.len(), used), (n, req.len()));
        // Re-parsing from byte 0 on each of the 33 reads examines ~17x the request.
        assert!(
            parser.examined() <= 2 * req.len() as u64,
            "examined {} bytes of a {}-byte request",
            parser.examined(),
            req.len()
        );
    }

    #[test]
    fn a_bulk_arriving_a_byte_at_a_time_is_not_rescanned() {
        let value = vec![b'x'; 100_000];
        let req = encode_request(&[b"SET", b"k", &value]);
        let mut parser = Parser::default();
        for end in 1..req.len() {
            assert_eq!(parser.parse(&req[..end], &Limits::default()).unwrap(), None);
        }
        let (args, _) = parser.parse(&req, &Limits::default()).unwrap().unwrap();
        assert_eq!(args[2], value);
        assert!(parser.examined() <= 2 * req.len() as u64);
    }

    #[test]
    fn inline_requests_split_on_whitespace() {
        let (args, used) = parse(b"set  k v\r\nPING").unwrap().unwrap();
        assert_eq!(args, vec![b"set".to_vec(), b"k".to_vec(), b"v".to_vec()]);
        assert_eq!(used, 10);
        assert_eq!(parse(b"PING").unwrap(), None);
        assert_eq!(parse(b"\r\n").unwrap().unwrap().0, Vec::<Vec<u8>>::new());
        assert_eq!(parse(b"*0\r\n").unwrap().unwrap(), (Vec::new(), 4));
    }

    #[test]
    fn replies_encode_as_redis_does() {
        let mut out = Vec::new();
        Reply::Array(vec![
            Reply::ok(),
            Reply::err("ERR bad\r\nthing"),
            Reply::Int(-3),
            Reply::bulk("hi"),
            Reply::Nil,
            Reply::NilArray,
        ])
        .encode(&mut out);
        assert_eq!(
            out,
            b"*6\r\n+OK\r\n-ERR bad  thing\r\n:-3\r\n$2\r\nhi\r\n$-1\r\n*-1\r\n".to_vec()
        );
    }
}
