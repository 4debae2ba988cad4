//! RDF files read as blocks of triples, each block's distinct terms
//! converted once; N-Triples and N-Quads parsed on all cores.
//!
//! ```
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("g.nt");
//! std::fs::write(
//!     &path,
//!     "<http://e/a> <http://e/p> <http://e/b> .\n<http://e/b> <http://e/p> <http://e/a> .\n",
//! )?;
//! let mut triples = Vec::new();
//! let count = nesy_kg::for_each_triple_block(&path, |block| {
//!     for [s, p, o] in &block.triples {
//!         triples.push((block.terms[*s as usize].clone(), block.terms[*p as usize].clone(), block.terms[*o as usize].clone()));
//!     }
//!     true
//! })?;
//! assert_eq!(count, 2);
//! assert_eq!(triples[1].0, nesy_engine::Value::iri("http://e/b"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Line-based formats split into blocks of whole lines that worker threads
//! parse (with every check oxttl makes) while the file is still being read
//! and decompressed; the blocks reach the caller in file order, so what it
//! builds is the same as from one parser. Other formats are parsed on the
//! calling thread and cut into blocks the same way.

use crate::{KgError, format_of, guard_entities, parse_error, term_value};
use nesy_engine::Value;
use oxigraph::io::{RdfFormat, RdfParseError, RdfParser};
use oxigraph::model::{Term, Triple};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

/// Bytes of text per block of a line-based file.
const BLOCK_BYTES: usize = 1 << 18;
/// Triples per block of a file parsed on the calling thread.
const BLOCK_TRIPLES: usize = 1 << 14;

/// A run of triples from one file, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TripleBlock {
    /// The block's distinct terms, in the order the triples first use them
    /// (subject, predicate, object).
    pub terms: Vec<Value>,
    /// Each triple as indexes into `terms`: subject, predicate, object.
    pub triples: Vec<[u32; 3]>,
}

/// Numbers a block's terms as they come.
#[derive(Default)]
struct BlockBuilder {
    block: TripleBlock,
    index: FxHashMap<Term, u32>,
}

impl BlockBuilder {
    fn term(&mut self, term: Term, blank_prefix: Option<&str>) -> u32 {
        if let Some(&id) = self.index.get(&term) {
            return id;
        }
        let id = self.block.terms.len() as u32;
        let value = match (&term, blank_prefix) {
            (Term::BlankNode(b), Some(prefix)) => {
                Value::symbol(format!("_:{prefix}{}", b.as_str()))
            }
            _ => term_value(&term),
        };
        self.block.terms.push(value);
        self.index.insert(term, id);
        id
    }

    fn push(&mut self, triple: Triple, blank_prefix: Option<&str>) {
        let s = self.term(triple.subject.into(), blank_prefix);
        let p = self.term(triple.predicate.into(), blank_prefix);
        let o = self.term(triple.object, blank_prefix);
        self.block.triples.push([s, p, o]);
    }

    fn take(&mut self) -> TripleBlock {
        self.index.clear();
        std::mem::take(&mut self.block)
    }
}

/// Streams the triples (and the triples of quads, their graph left out)
/// of an RDF file without storing them, block by block in file order;
/// `f` returns whether to go on. Returns how many triples were read. A
/// syntax error stops with the file, line and column, after the blocks
/// before it were given (the caller discards what it got). Blank nodes
/// are renamed apart from those of every other file read.
pub fn for_each_triple_block(
    path: &Path,
    mut f: impl FnMut(TripleBlock) -> bool,
) -> Result<usize, KgError> {
    let display = path.display().to_string();
    let (format, gz) = format_of(path).ok_or_else(|| KgError::UnknownFormat(display.clone()))?;
    let file = std::fs::File::open(path).map_err(|e| KgError::Io {
        path: display.clone(),
        message: e.to_string(),
    })?;
    let reader: Box<dyn Read + Send> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::BufReader::new(
            file,
        )))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    if matches!(format, RdfFormat::NTriples | RdfFormat::NQuads) {
        return parallel(reader, format, &display, f);
    }
    let reader = guard_entities(reader, format, &display)?;
    let mut builder = BlockBuilder::default();
    let mut count = 0;
    for quad in RdfParser::from_format(format)
        .rename_blank_nodes()
        .for_reader(reader)
    {
        let quad = quad.map_err(|e| parse_error(e, &display))?;
        builder.push(Triple::new(quad.subject, quad.predicate, quad.object), None);
        count += 1;
        if builder.block.triples.len() == BLOCK_TRIPLES && !f(builder.take()) {
            return Ok(count);
        }
    }
    if !builder.block.triples.is_empty() {
        f(builder.take());
    }
    Ok(count)
}

/// A block parsed by a worker, or where its text is wrong.
struct Parsed {
    block: Result<TripleBlock, KgError>,
    /// Lines in the block's text.
    lines: u64,
}

/// A line-based file: one thread reads (and decompresses) blocks of whole
/// lines, workers parse them, the caller gets them in order.
fn parallel(
    reader: Box<dyn Read + Send>,
    format: RdfFormat,
    name: &str,
    mut f: impl FnMut(TripleBlock) -> bool,
) -> Result<usize, KgError> {
    static FILES: AtomicU64 = AtomicU64::new(0);
    // What the one parser's `rename_blank_nodes` does, but the same across
    // the file's blocks: `_:b` of this file is not `_:b` of another.
    let blank_prefix = format!("f{}_", FILES.fetch_add(1, Ordering::Relaxed));
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let in_flight = workers + 1;
    std::thread::scope(|scope| {
        let (text_tx, text_rx) = sync_channel::<(usize, Vec<u8>)>(in_flight);
        let (parsed_tx, parsed_rx) = sync_channel::<(usize, Parsed)>(in_flight);
        let read = scope.spawn(move || read_blocks(reader, &text_tx));
        let text_rx = Arc::new(Mutex::new(text_rx));
        for _ in 0..workers {
            let text_rx = text_rx.clone();
            let parsed_tx = parsed_tx.clone();
            let blank_prefix = blank_prefix.as_str();
            scope.spawn(move || parse_blocks(&text_rx, &parsed_tx, format, blank_prefix));
        }
        // Only the workers hold the blocks' receiver and the results'
        // sender: when the caller stops, the workers' sends fail, they end,
        // and the reader's sends fail in turn.
        drop(text_rx);
        drop(parsed_tx);
        let delivered = deliver(parsed_rx, name, &mut f);
        // The reader ends once the workers stop taking blocks.
        let read = read
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the reading thread stopped")));
        let count = delivered?;
        read.map_err(|e| KgError::Io {
            path: name.to_string(),
            message: e.to_string(),
        })?;
        Ok(count)
    })
}

/// Hands parsed blocks to `f` in file order until the file ends, a block
/// is wrong, or `f` says stop; dropping `parsed` then stops the workers.
fn deliver(
    parsed: Receiver<(usize, Parsed)>,
    name: &str,
    f: &mut impl FnMut(TripleBlock) -> bool,
) -> Result<usize, KgError> {
    let mut waiting = BTreeMap::new();
    let (mut next, mut lines_before, mut count) = (0, 0, 0);
    for (index, block) in parsed {
        waiting.insert(index, block);
        while let Some(Parsed { block, lines }) = waiting.remove(&next) {
            let block = block.map_err(|e| match e {
                KgError::Syntax {
                    line,
                    column,
                    message,
                    ..
                } => KgError::Syntax {
                    file: name.to_string(),
                    line: line + lines_before,
                    column,
                    message,
                },
                other => other,
            })?;
            count += block.triples.len();
            if !f(block) {
                return Ok(count);
            }
            next += 1;
            lines_before += lines;
        }
    }
    Ok(count)
}

/// Reads `reader` into blocks of about [`BLOCK_BYTES`] that end at a line's
/// end, numbered in order, until the file ends or nobody takes them.
fn read_blocks(
    mut reader: Box<dyn Read + Send>,
    blocks: &SyncSender<(usize, Vec<u8>)>,
) -> std::io::Result<()> {
    let mut carry = Vec::new();
    for index in 0.. {
        let mut text = std::mem::take(&mut carry);
        text.reserve(BLOCK_BYTES);
        let mut end = false;
        // Fill up to the block size, and on until a line ends (a line
        // longer than a block makes a longer block).
        loop {
            let start = text.len();
            text.resize(start.max(BLOCK_BYTES).max(start + 64 * 1024), 0);
            let n = read_some(&mut reader, text.get_mut(start..).unwrap_or_default())?;
            text.truncate(start + n);
            if n == 0 {
                end = true;
                break;
            }
            if text.len() >= BLOCK_BYTES
                && let Some(last) = text.iter().rposition(|&b| b == b'\n')
            {
                carry.extend_from_slice(text.get(last + 1..).unwrap_or_default());
                text.truncate(last + 1);
                break;
            }
        }
        if !text.is_empty() && blocks.send((index, text)).is_err() {
            return Ok(());
        }
        if end {
            return Ok(());
        }
    }
    Ok(())
}

/// One `read`, retried when interrupted.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match reader.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// A worker: parses the blocks it takes until there are none or nobody
/// wants the results.
fn parse_blocks(
    text: &Mutex<Receiver<(usize, Vec<u8>)>>,
    parsed: &SyncSender<(usize, Parsed)>,
    format: RdfFormat,
    blank_prefix: &str,
) {
    loop {
        let next = match text.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((index, bytes)) = next else { return };
        let block = parse_block(&bytes, format, blank_prefix);
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        if parsed.send((index, Parsed { block, lines })).is_err() {
            return;
        }
    }
}

/// One block of whole lines; a syntax error's line counts from the
/// block's first line (the caller adds the lines before it).
fn parse_block(
    bytes: &[u8],
    format: RdfFormat,
    blank_prefix: &str,
) -> Result<TripleBlock, KgError> {
    let mut builder = BlockBuilder::default();
    for quad in RdfParser::from_format(format).for_slice(bytes) {
        let quad = quad.map_err(|e| parse_error(RdfParseError::Syntax(e), ""))?;
        builder.push(
            Triple::new(quad.subject, quad.predicate, quad.object),
            Some(blank_prefix),
        );
    }
    Ok(builder.take())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// `n` lines of N-Triples, the first and the last about the blank node
    /// `_:b`, `bad` (1-based) replaced by a line that does not parse.
    fn ntriples(n: usize, bad: Option<usize>) -> String {
        let mut text = String::new();
        for line in 1..=n {
            if Some(line) == bad {
                text.push_str("<http://e/s> <http://e/p> .\n");
            } else if line == 1 || line == n {
                text.push_str(&format!(
                    "_:b <http://e/n> \"{line}\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n"
                ));
            } else {
                text.push_str(&format!(
                    "<http://e/s{}> <http://e/p{}> <http://e/o{line}> .\n",
                    line % 1000,
                    line % 7
                ));
            }
        }
        text
    }

    fn read_all(path: &Path) -> Result<Vec<[Value; 3]>, KgError> {
        let mut out = Vec::new();
        let count = for_each_triple_block(path, |block| {
            for t in &block.triples {
                out.push(t.map(|i| block.terms[i as usize].clone()));
            }
            true
        })?;
        assert_eq!(count, out.len());
        Ok(out)
    }

    #[test]
    fn a_file_of_many_blocks_reads_in_order_with_its_blank_nodes_kept_together() {
        let dir = tempfile::tempdir().unwrap();
        let (plain, gz) = (dir.path().join("g.nt"), dir.path().join("g.nt.gz"));
        let n = 60_000; // about 3 MB: several blocks
        let text = ntriples(n, None);
        assert!(text.len() > 2 * BLOCK_BYTES);
        std::fs::write(&plain, &text).unwrap();
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::fast(),
        );
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap();
        let triples = read_all(&plain).unwrap();
        assert_eq!(triples.len(), n);
        for (line, t) in triples.iter().enumerate().skip(1).take(n - 2) {
            assert_eq!(t[2], Value::iri(format!("http://e/o{}", line + 1)));
        }
        assert_eq!(triples[0][2], Value::Int(1));
        assert_eq!(triples[n - 1][2], Value::Int(n as i64));
        // One blank node across the blocks, renamed apart from the next read's.
        assert_eq!(triples[0][0], triples[n - 1][0]);
        let again = read_all(&gz).unwrap();
        assert_ne!(again[0][0], triples[0][0]);
        assert_eq!(again[1..n - 1], triples[1..n - 1]);
    }

    #[test]
    fn a_syntax_error_deep_in_a_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.nt");
        std::fs::write(&path, ntriples(50_000, Some(41_234))).unwrap();
        let err = read_all(&path).unwrap_err();
        let KgError::Syntax { file, line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(
            (file.as_str(), *line),
            (path.display().to_string().as_str(), 41_234)
        );
        // The one-parser reading says the same line.
        let text = std::fs::read(&path).unwrap();
        let one = RdfParser::from_format(RdfFormat::NTriples)
            .for_slice(&text)
            .find_map(Result::err)
            .unwrap();
        assert_eq!(one.location().unwrap().start.line + 1, 41_234);
    }

    #[test]
    fn a_syntax_error_early_in_a_large_file_stops_the_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("early.nt");
        std::fs::write(&path, ntriples(150_000, Some(10))).unwrap();
        let err = read_all(&path).unwrap_err();
        assert!(matches!(err, KgError::Syntax { line: 10, .. }), "{err:?}");
    }

    #[test]
    fn the_caller_can_stop_early_and_an_empty_file_has_no_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.nq");
        // Far more than the blocks in flight: the reader is still reading
        // when the caller stops, and must stop too (this hung once).
        std::fs::write(&path, ntriples(150_000, None)).unwrap();
        let mut blocks = 0;
        for_each_triple_block(&path, |_| {
            blocks += 1;
            false
        })
        .unwrap();
        assert_eq!(blocks, 1);
        let empty = dir.path().join("empty.nt");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(
            for_each_triple_block(&empty, |_| panic!("no block")).unwrap(),
            0
        );
    }

    #[test]
    fn turtle_is_read_in_blocks_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.ttl");
        std::fs::write(
            &path,
            "@prefix e: <http://e/> .\ne:a e:p e:b, e:c ; e:q [ e:r 1 ] .\n",
        )
        .unwrap();
        let triples = read_all(&path).unwrap();
        assert_eq!(triples.len(), 4);
        assert_eq!(
            triples[0],
            [
                Value::iri("http://e/a"),
                Value::iri("http://e/p"),
                Value::iri("http://e/b")
            ]
        );
    }
}
