//! A tiny blocking RESP2 client: enough to send commands as arrays of bulk
//! strings and read the replies the viz needs. The server side of this
//! protocol is the book's RESP chapter (`src/resp.rs`); the viz keeps its
//! own small reader so that it depends on nothing but std for the wire.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    Nil,
    Array(Vec<Reply>),
}

impl Reply {
    /// A one-line description for the UI.
    pub fn describe(&self) -> String {
        match self {
            Reply::Simple(s) => s.clone(),
            Reply::Error(e) => format!("error: {e}"),
            Reply::Int(n) => n.to_string(),
            Reply::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
            Reply::Nil => "(nil)".into(),
            Reply::Array(items) => format!("{} items", items.len()),
        }
    }
}

pub struct Connection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Connection {
    pub fn connect(addr: &str, timeout: Duration) -> io::Result<Connection> {
        let sock = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))?;
        let stream = TcpStream::connect_timeout(&sock, timeout)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    /// Sends several commands in one write, then reads their replies.
    pub fn pipeline(&mut self, commands: &[Vec<Vec<u8>>]) -> io::Result<Vec<Reply>> {
        let mut out = Vec::new();
        for args in commands {
            encode(&mut out, args);
        }
        self.writer.write_all(&out)?;
        commands
            .iter()
            .map(|_| read_reply(&mut self.reader))
            .collect()
    }

    pub fn command(&mut self, args: &[&[u8]]) -> io::Result<Reply> {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        Ok(self.pipeline(&[args])?.remove(0))
    }
}

pub fn encode(out: &mut Vec<u8>, args: &[Vec<u8>]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

pub fn read_reply(r: &mut impl BufRead) -> io::Result<Reply> {
    let mut line = Vec::new();
    if r.read_until(b'\n', &mut line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed the connection",
        ));
    }
    if !line.ends_with(b"\r\n") || line.len() < 3 {
        return Err(bad("malformed reply line"));
    }
    let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
    let number = || body.parse::<i64>().map_err(|_| bad("bad length"));
    Ok(match line[0] {
        b'+' => Reply::Simple(body),
        b'-' => Reply::Error(body),
        b':' => Reply::Int(number()?),
        b'$' => {
            let n = number()?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            let mut buf = vec![0; n as usize + 2];
            r.read_exact(&mut buf)?;
            buf.truncate(n as usize);
            Reply::Bulk(buf)
        }
        b'*' => {
            let n = number()?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            let items = (0..n).map(|_| read_reply(r)).collect::<io::Result<_>>()?;
            Reply::Array(items)
        }
        _ => return Err(bad("unknown reply type")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_reply_type_the_viz_meets() {
        let wire = b"+OK\r\n-ERR unknown command 'ANATOMY'\r\n:42\r\n$3\r\n{}\n\r\n$-1\r\n*2\r\n$1\r\na\r\n:1\r\n";
        let mut r = &wire[..];
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Simple("OK".into()));
        assert_eq!(
            read_reply(&mut r).unwrap(),
            Reply::Error("ERR unknown command 'ANATOMY'".into())
        );
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Int(42));
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Bulk(b"{}\n".to_vec()));
        assert_eq!(read_reply(&mut r).unwrap(), Reply::Nil);
        assert_eq!(
            read_reply(&mut r).unwrap(),
            Reply::Array(vec![Reply::Bulk(b"a".to_vec()), Reply::Int(1)])
        );
        assert!(read_reply(&mut r).is_err(), "end of input");
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        encode(&mut out, &[b"ANATOMY".to_vec(), b"DICT".to_vec()]);
        assert_eq!(out, b"*2\r\n$7\r\nANATOMY\r\n$4\r\nDICT\r\n");
    }
}
