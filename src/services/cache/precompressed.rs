//! Compression paid once, for a page with holes in it.
//!
//! A cached page is its fixed parts (segments) with holes between them for what
//! changes on every request (the view count, the footer's figures). Each segment is
//! compressed once, when the page is rendered; a response joins the compressed
//! segments with its holes, which go in uncompressed (a few hundred bytes). So a hit
//! costs a copy, not a compression, whatever the encoding.
//!
//! - **gzip**: each segment is raw DEFLATE ended by a *full flush*, which leaves it on a
//!   byte boundary and referring to nothing before it; a hole goes in as a *stored*
//!   block (five bytes of header). The gzip trailer's CRC-32 is computed per response
//!   over the uncompressed bytes (microseconds, with `crc32fast`).
//! - **brotli**: each segment is a *catable* brotli stream (the `brotli` crate's
//!   option for streams that may be joined: no references before their own start,
//!   no static dictionary); a hole is a stream of one uncompressed meta-block, three
//!   bytes of header; `brotli::concat::BroCatli` joins the streams at the bit level.

use std::cell::RefCell;
use std::io::Write;

use brotli::concat::{BroCatli, BroCatliResult};
use brotli::enc::BrotliEncoderParams;
use bytes::{BufMut, Bytes, BytesMut};
use flate2::{Compress, Compression, FlushCompress};

/// The encodings a cached page is kept in, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Brotli,
    Gzip,
    Identity,
}

impl Encoding {
    /// The `Content-Encoding` value, or `None` for identity.
    pub fn content_encoding(self) -> Option<&'static str> {
        match self {
            Encoding::Brotli => Some("br"),
            Encoding::Gzip => Some("gzip"),
            Encoding::Identity => None,
        }
    }

    /// What tells this representation's ETag apart from the others'.
    pub fn etag_suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gz",
            Encoding::Identity => "id",
        }
    }

    /// The encoding `accept_encoding` prefers by its q-values among brotli and gzip
    /// (brotli on a tie), else identity. `q=0` refuses a coding; `*` stands for any
    /// coding not named.
    pub fn negotiate(accept_encoding: Option<&str>) -> Encoding {
        let Some(header) = accept_encoding else {
            return Encoding::Identity;
        };
        let (brotli, gzip) = (weight(header, &["br"]), weight(header, GZIP));
        if brotli > 0.0 && brotli >= gzip {
            Encoding::Brotli
        } else if gzip > 0.0 {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// Whether `accept_encoding` ranks zstd first — at least as high as brotli, gzip,
    /// deflate and identity, as the compression layer ranks it among equals (Chrome,
    /// Firefox and Edge send `gzip, deflate, br, zstd`). A q-value is read as a number
    /// (the layer ignores one with more than three decimals; this does not).
    pub fn prefers_zstd(accept_encoding: &str) -> bool {
        let zstd = weight(accept_encoding, &["zstd"]);
        zstd > 0.0
            && [&["br"][..], GZIP, &["deflate"], &["identity"]]
                .iter()
                .all(|other| zstd >= weight(accept_encoding, other))
    }

    /// Whether `accept_encoding` takes gzip (every browser's does).
    pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
        accept_encoding.is_some_and(|header| weight(header, GZIP) > 0.0)
    }
}

/// gzip's names: `x-gzip` is the same coding (RFC 9110, 8.4.1.3).
const GZIP: &[&str] = &["gzip", "x-gzip"];

/// The q-value `header` gives the coding called `names`: the first one it lists,
/// else `*`'s, else 0.
fn weight(header: &str, names: &[&str]) -> f32 {
    let mut star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let q = parts
            .find_map(|param| {
                let (name, value) = param.split_once('=')?;
                (name.trim().eq_ignore_ascii_case("q")).then(|| value.trim().parse::<f32>().ok())?
            })
            .unwrap_or(1.0);
        if names.iter().any(|name| coding.eq_ignore_ascii_case(name)) {
            return q;
        }
        if coding == "*" {
            star = Some(q);
        }
    }
    star.unwrap_or(0.0)
}

/// Brotli quality for segments. On a post page (catable, no dictionary) 5 compresses
/// about as well as 9 in a small fraction of the time; 9 spends most of its time
/// clearing a far larger hash table — memory that a burst of misses multiplies. The
/// measurement is in docs/measurement-log.md ("Brotli quality 5 and 9 on a post page").
const BROTLI_QUALITY: i32 = 5;
/// Log2 of brotli's window: 256 KiB, more than any page; every stream uses the same.
const BROTLI_WINDOW_BITS: u8 = 18;
/// DEFLATE level for segments (paid once per render).
const GZIP_LEVEL: u32 = 9;
/// The most of a hole one block carries: a DEFLATE stored block's 16-bit length (an
/// uncompressed brotli meta-block takes one more). A larger hole goes in as several.
const MOST_HOLE_BYTES_A_BLOCK: usize = (1 << 16) - 1;

/// A page's fixed parts, uncompressed and compressed, in order. Holes go between
/// consecutive segments: `n` segments have `n - 1` holes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segments {
    pub identity: Vec<Bytes>,
    pub gzip: Vec<Bytes>,
    pub brotli: Vec<Bytes>,
}

impl Segments {
    /// Compresses each segment both ways: the cost a render pays once.
    pub fn compress(identity: Vec<Bytes>) -> anyhow::Result<Segments> {
        let gzip = identity
            .iter()
            .map(|segment| deflate_segment(segment))
            .collect::<anyhow::Result<_>>()?;
        let brotli = identity
            .iter()
            .map(|segment| brotli_segment(segment))
            .collect::<anyhow::Result<_>>()?;
        Ok(Segments {
            identity,
            gzip,
            brotli,
        })
    }

    /// The stored size of one encoding's segments, in bytes.
    pub fn size(&self, encoding: Encoding) -> usize {
        self.of(encoding).iter().map(Bytes::len).sum()
    }

    fn of(&self, encoding: Encoding) -> &[Bytes] {
        match encoding {
            Encoding::Brotli => &self.brotli,
            Encoding::Gzip => &self.gzip,
            Encoding::Identity => &self.identity,
        }
    }

    /// The whole body in `encoding`, with `holes` filled in between the segments.
    /// `holes` has one fewer entry than there are segments; a hole of any size goes in
    /// as blocks of at most [`MOST_HOLE_BYTES_A_BLOCK`].
    pub fn assemble(&self, encoding: Encoding, holes: &[&[u8]]) -> anyhow::Result<Bytes> {
        anyhow::ensure!(
            holes.len() + 1 == self.identity.len(),
            "{} holes for {} segments",
            holes.len(),
            self.identity.len()
        );
        match encoding {
            Encoding::Identity => Ok(self.join_identity(holes)),
            Encoding::Gzip => Ok(self.join_gzip(holes)),
            Encoding::Brotli => self.join_brotli(holes),
        }
    }

    fn join_identity(&self, holes: &[&[u8]]) -> Bytes {
        let size = self.size(Encoding::Identity) + holes.iter().map(|h| h.len()).sum::<usize>();
        let mut body = BytesMut::with_capacity(size);
        for (index, segment) in self.identity.iter().enumerate() {
            body.put_slice(segment);
            if let Some(hole) = holes.get(index) {
                body.put_slice(hole);
            }
        }
        body.freeze()
    }

    fn join_gzip(&self, holes: &[&[u8]]) -> Bytes {
        let holes_size: usize = holes.iter().map(|h| h.len() + 5 * blocks(h)).sum();
        let mut body = BytesMut::with_capacity(self.size(Encoding::Gzip) + holes_size + 20);
        // Magic, DEFLATE, no flags, no mtime, no extra flags, OS unknown.
        body.put_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
        let mut crc = crc32fast::Hasher::new();
        let mut length: u64 = 0;
        for (index, segment) in self.gzip.iter().enumerate() {
            body.put_slice(segment);
            crc.update(&self.identity[index]);
            length += self.identity[index].len() as u64;
            if let Some(hole) = holes.get(index).filter(|hole| !hole.is_empty()) {
                for block in hole.chunks(MOST_HOLE_BYTES_A_BLOCK) {
                    put_stored_block(&mut body, block);
                }
                crc.update(hole);
                length += hole.len() as u64;
            }
        }
        // An empty final block with fixed codes: BFINAL 1, BTYPE 01, end of block.
        body.put_slice(&[0x03, 0x00]);
        body.put_u32_le(crc.finalize());
        // ISIZE is the length modulo 2^32, as the format says.
        body.put_u32_le((length & 0xffff_ffff) as u32);
        body.freeze()
    }

    fn join_brotli(&self, holes: &[&[u8]]) -> anyhow::Result<Bytes> {
        let holes_size: usize = holes.iter().map(|h| h.len() + 4 * blocks(h)).sum();
        let mut out = vec![0u8; self.size(Encoding::Brotli) + holes_size + 16];
        let mut written = 0;
        let mut joiner = BroCatli::new();
        let mut append = |stream: &[u8], joiner: &mut BroCatli| -> anyhow::Result<()> {
            joiner.new_brotli_file();
            let mut read = 0;
            match joiner.stream(stream, &mut read, &mut out, &mut written) {
                BroCatliResult::Success | BroCatliResult::NeedsMoreInput
                    if read == stream.len() =>
                {
                    Ok(())
                }
                other => anyhow::bail!("brotli streams could not be joined: {other:?}"),
            }
        };
        for (index, segment) in self.brotli.iter().enumerate() {
            append(segment, &mut joiner)?;
            if let Some(hole) = holes.get(index).filter(|hole| !hole.is_empty()) {
                for block in hole.chunks(MOST_HOLE_BYTES_A_BLOCK) {
                    append(&uncompressed_brotli_stream(block), &mut joiner)?;
                }
            }
        }
        match joiner.finish(&mut out, &mut written) {
            BroCatliResult::Success => {}
            other => anyhow::bail!("brotli streams could not be joined: {other:?}"),
        }
        out.truncate(written);
        Ok(Bytes::from(out))
    }
}

/// An uncached page for a browser that ranks zstd first ([`Encoding::prefers_zstd`]):
/// the whole page in one call, at zstd's default level, 3, with a context this thread
/// keeps. The lab's uncached side pays it, as the uncached pages do. (Safari, without
/// zstd, gets brotli at quality 4 from the compression layer, which cost the list page
/// about a third of its CPU when it was the choice: docs/measurement-log.md.)
///
/// Why not the compression layer's own zstd: it streams, so it makes a context per
/// response, sized for a body of unknown length — its tables allocated and cleared on
/// every page. A page already in memory has a known length, for which zstd sizes its
/// tables to the page; the kept context and its output buffer are reused, and only the
/// compressed bytes are copied out.
pub fn zstd_on_the_fly(body: &[u8]) -> anyhow::Result<Bytes> {
    thread_local! {
        static KEPT: RefCell<Option<(zstd::bulk::Compressor<'static>, Vec<u8>)>> =
            const { RefCell::new(None) };
    }
    KEPT.with_borrow_mut(|kept| {
        let (compressor, out) = match kept {
            Some(kept) => kept,
            None => kept.insert((
                zstd::bulk::Compressor::new(ZSTD_ON_THE_FLY_LEVEL)?,
                Vec::new(),
            )),
        };
        out.clear();
        out.reserve(zstd::zstd_safe::compress_bound(body.len()));
        compressor.compress_to_buffer(body, out)?;
        let compressed = Bytes::copy_from_slice(out);
        // A page far larger than most leaves no large buffer behind.
        out.clear();
        out.shrink_to(MOST_KEPT_ZSTD_BYTES);
        Ok(compressed)
    })
}

/// The most output buffer a thread keeps between pages: a larger one, left by a page
/// whose worst case needed more, is given back.
const MOST_KEPT_ZSTD_BYTES: usize = 256 * 1024;

/// zstd's own default, which the compression layer uses.
const ZSTD_ON_THE_FLY_LEVEL: i32 = 3;

/// Raw DEFLATE of `segment`, ended by a full flush: byte aligned, self-contained,
/// not final.
fn deflate_segment(segment: &[u8]) -> anyhow::Result<Bytes> {
    let mut compressor = Compress::new(Compression::new(GZIP_LEVEL), false);
    let mut out = Vec::with_capacity(segment.len() / 2 + 64);
    loop {
        let consumed = usize::try_from(compressor.total_in())?;
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        compressor.compress_vec(&segment[consumed..], &mut out, FlushCompress::Full)?;
        let done = usize::try_from(compressor.total_in())? == segment.len();
        // A full flush is complete when it did not fill the space it was given.
        if done && out.capacity() - out.len() >= 64 {
            // Kept for minutes: give back the room reserved while compressing.
            out.shrink_to_fit();
            return Ok(Bytes::from(out));
        }
    }
}

/// How many blocks `hole` goes in as.
fn blocks(hole: &[u8]) -> usize {
    hole.len().div_ceil(MOST_HOLE_BYTES_A_BLOCK)
}

/// A DEFLATE stored block (not final) holding `data`, from a byte boundary.
fn put_stored_block(body: &mut BytesMut, data: &[u8]) {
    let length = u16::try_from(data.len()).unwrap_or(u16::MAX);
    body.put_u8(0); // BFINAL 0, BTYPE 00, padding to the byte
    body.put_u16_le(length);
    body.put_u16_le(!length);
    body.put_slice(&data[..usize::from(length)]);
}

/// `segment` as a catable brotli stream.
fn brotli_segment(segment: &[u8]) -> anyhow::Result<Bytes> {
    let params = BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: i32::from(BROTLI_WINDOW_BITS),
        catable: true,
        appendable: true,
        use_dictionary: false,
        size_hint: segment.len(),
        ..BrotliEncoderParams::default()
    };
    let mut out = Vec::with_capacity(segment.len() / 2 + 64);
    let mut input = segment;
    brotli::BrotliCompress(&mut input, &mut out, &params)?;
    out.flush()?;
    out.shrink_to_fit();
    Ok(Bytes::from(out))
}

/// A brotli stream holding `data` (1 to 65,536 bytes) as one uncompressed meta-block:
/// window bits, ISLAST 0, four length nibbles, MLEN - 1, ISUNCOMPRESSED 1 — 24 bits —
/// then the bytes, then the final empty meta-block (ISLAST 1, ISLASTEMPTY 1).
fn uncompressed_brotli_stream(data: &[u8]) -> Vec<u8> {
    // WBITS for 18..=24 is four bits: 1, then (lgwin - 17) in three.
    let window = 1 | ((u32::from(BROTLI_WINDOW_BITS) - 17) << 1);
    let length_minus_one = u32::try_from(data.len().saturating_sub(1)).unwrap_or(0xffff) & 0xffff;
    let header = window | (length_minus_one << 7) | (1 << 23);
    let mut stream = Vec::with_capacity(data.len() + 4);
    stream.extend_from_slice(&header.to_le_bytes()[..3]);
    stream.extend_from_slice(data);
    stream.push(0x03);
    stream
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn page() -> Vec<Bytes> {
        let fixed = "<p>Lorem ipsum dolor sit amet, the same words again and again. </p>\n";
        vec![
            Bytes::from(fixed.repeat(200)),
            Bytes::from(format!("<h1>middle</h1>{}", fixed.repeat(50))),
            Bytes::from("</body></html>"),
        ]
    }

    fn gunzip(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    fn unbrotli(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        brotli::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .expect("valid brotli");
        out
    }

    #[test]
    fn every_encoding_decodes_to_the_segments_with_holes_of_any_size_filled() {
        let segments = Segments::compress(page()).expect("compresses");
        let (one_block, block_and_one, many) = (
            vec![b'y'; MOST_HOLE_BYTES_A_BLOCK],
            vec![b'z'; MOST_HOLE_BYTES_A_BLOCK + 1],
            vec![b'&'; 5 * MOST_HOLE_BYTES_A_BLOCK + 7],
        );
        for holes in [
            vec![&b"42 views"[..], &b"<span>3 queries</span>"[..]],
            vec![&b""[..], &b"x"[..]],
            vec![&one_block[..], &b""[..]],
            vec![&block_and_one[..], &many[..]],
        ] {
            let identity = segments
                .assemble(Encoding::Identity, &holes)
                .expect("joins");
            let parts = page();
            let expected = [
                &parts[0][..],
                holes[0],
                &parts[1][..],
                holes[1],
                &parts[2][..],
            ]
            .concat();
            assert_eq!(identity, expected);
            let gzip = segments.assemble(Encoding::Gzip, &holes).expect("joins");
            assert_eq!(gunzip(&gzip), identity);
            let brotli = segments.assemble(Encoding::Brotli, &holes).expect("joins");
            assert_eq!(unbrotli(&brotli), identity);
        }
    }

    #[test]
    fn compressed_segments_are_much_smaller_than_the_page() {
        let segments = Segments::compress(page()).expect("compresses");
        let identity = segments.size(Encoding::Identity);
        assert!(segments.size(Encoding::Gzip) * 10 < identity);
        assert!(segments.size(Encoding::Brotli) * 10 < identity);
    }

    #[test]
    fn the_wrong_number_of_holes_is_an_error_not_a_panic() {
        let segments = Segments::compress(page()).expect("compresses");
        assert!(segments.assemble(Encoding::Gzip, &[b"one"]).is_err());
    }

    #[test]
    fn accept_encoding_picks_brotli_then_gzip_and_respects_q_zero_and_x_gzip_is_gzip() {
        let pick = |header| Encoding::negotiate(Some(header));
        assert_eq!(pick("gzip, deflate, br, zstd"), Encoding::Brotli);
        assert_eq!(pick("gzip, deflate"), Encoding::Gzip);
        assert_eq!(pick("br;q=0, gzip"), Encoding::Gzip);
        assert_eq!(pick("br;q=0.0, gzip;q=0"), Encoding::Identity);
        assert_eq!(pick("*"), Encoding::Brotli);
        assert_eq!(pick("identity"), Encoding::Identity);
        assert_eq!(pick("br;q=0.5, gzip;q=1.0"), Encoding::Gzip);
        assert_eq!(pick("gzip;q=0.8, *;q=0.9"), Encoding::Brotli);
        assert_eq!(Encoding::negotiate(None), Encoding::Identity);
        assert_eq!(pick("x-gzip"), Encoding::Gzip);
        assert_eq!(pick("X-GZIP;q=0.5, identity"), Encoding::Gzip);
        assert_eq!(pick("x-gzip;q=0, *"), Encoding::Brotli);
        assert!(Encoding::accepts_gzip(Some("x-gzip")));
    }

    #[test]
    fn zstd_is_preferred_only_where_no_other_coding_is_ranked_higher() {
        assert!(Encoding::prefers_zstd("gzip, deflate, br, zstd"));
        assert!(Encoding::prefers_zstd("zstd"));
        assert!(Encoding::prefers_zstd("*"));
        assert!(!Encoding::prefers_zstd("gzip, deflate, br"));
        assert!(!Encoding::prefers_zstd("zstd;q=0.5, br"));
        assert!(!Encoding::prefers_zstd("zstd;q=0, *"));
        assert!(!Encoding::prefers_zstd("zstd;q=0.8, x-gzip"));
        assert!(!Encoding::prefers_zstd("zstd;q=0.5, identity"));
    }

    #[test]
    fn a_page_in_zstd_from_the_kept_context_decodes_to_the_page_every_time() {
        let page = page().concat();
        for _ in 0..3 {
            let compressed = zstd_on_the_fly(&page).expect("compresses");
            assert!(compressed.len() * 5 < page.len());
            let decoded = zstd::stream::decode_all(&compressed[..]).expect("decodes");
            assert_eq!(decoded, page);
        }
    }
}
