//! Our own zip central-directory walker (APPNOTE.TXT 4.3). Library readers hide what a scanner
//! must see: the shadowed copy of a duplicate name, entries past a wrong end-of-central-directory
//! count, local names that differ from central ones, data before the archive. This walker reads
//! headers only (never member data) and reports each oddity; `containers.rs` decompresses.

use super::blob::Blob;
use super::detect::find_eocd;

#[derive(Debug, Clone)]
pub struct ZipEntry {
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    /// Offset of the local header, adjusted for bytes before the archive.
    pub local_offset: u64,
    /// Offset of the member data (after the local header).
    pub data_offset: u64,
    pub external_attrs: u32,
    pub made_by: u16,
}

impl ZipEntry {
    pub fn is_dir(&self) -> bool {
        self.name.ends_with('/')
    }
    pub fn encrypted(&self) -> bool {
        self.flags & 1 != 0
    }
    /// Unix symlink (made-by Unix, S_IFLNK in the high attribute bits).
    pub fn is_symlink(&self) -> bool {
        (self.made_by >> 8) == 3 && ((self.external_attrs >> 16) & 0o170000) == 0o120000
    }
}

#[derive(Debug, Default)]
pub struct ZipDirectory {
    pub entries: Vec<ZipEntry>,
    /// Structural oddities, one line each.
    pub anomalies: Vec<String>,
    /// Bytes before the first local header (a polyglot prefix), if any.
    pub prefix_len: u64,
    /// The directory lists more than `max_entries` members; only the first ones are here.
    pub member_limit_hit: bool,
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..i + 2).map(|s| {
        u16::from_le_bytes([
            s.first().copied().unwrap_or(0),
            s.get(1).copied().unwrap_or(0),
        ])
    })
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    let s = b.get(i..i + 4)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(u32::from_le_bytes(a))
}

fn u64_at(b: &[u8], i: usize) -> Option<u64> {
    let s = b.get(i..i + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

pub fn read_directory(blob: &Blob, max_entries: u64) -> Result<ZipDirectory, String> {
    let tail = blob
        .tail(super::detect::TAIL_LEN)
        .map_err(|e| e.to_string())?;
    let tail_start = blob.len() - tail.len() as u64;
    let Some(eocd_rel) = find_eocd(&tail) else {
        return Err("no end-of-central-directory record (truncated or not a zip)".into());
    };
    let eocd_pos = tail_start + eocd_rel as u64;
    let eocd = tail.get(eocd_rel..).unwrap_or(&[]);
    let mut dir = ZipDirectory::default();
    let count_eocd = u64::from(u16_at(eocd, 10).unwrap_or(0));
    let mut cd_size = u64::from(u32_at(eocd, 12).unwrap_or(0));
    let mut cd_offset = u64::from(u32_at(eocd, 16).unwrap_or(0));
    let mut declared = count_eocd;
    let mut cd_end = eocd_pos;
    // Zip64: a locator 20 bytes before the EOCD points at the zip64 EOCD record.
    if eocd_rel >= 20 && tail.get(eocd_rel - 20..eocd_rel - 16) == Some(b"PK\x06\x07") {
        let loc = tail.get(eocd_rel - 20..eocd_rel).unwrap_or(&[]);
        let rec_off = u64_at(loc, 8).unwrap_or(0);
        let rec = blob.read_vec(rec_off, 56).unwrap_or_default();
        if rec.starts_with(b"PK\x06\x06") {
            declared = u64_at(&rec, 32).unwrap_or(declared);
            cd_size = u64_at(&rec, 40).unwrap_or(cd_size);
            cd_offset = u64_at(&rec, 48).unwrap_or(cd_offset);
            cd_end = rec_off;
        }
    }
    // Python's zipfile: bytes before the archive shift every offset ("concat").
    let concat = cd_end.saturating_sub(cd_size).saturating_sub(cd_offset);
    if concat > 0 {
        // Reported by the caller, which knows whether a model loader opens this name.
        dir.prefix_len = concat;
    }
    // (An earlier end record in the tail is not evidence of concatenation: a stored inner zip
    // carries one. Concatenated archives show up as data before this one, below.)
    let cd_start = cd_offset
        .checked_add(concat)
        .ok_or("central directory offset overflows")?;
    if cd_size > blob.len() || cd_start > blob.len() {
        return Err("central directory lies outside the file".into());
    }
    let cd = blob
        .read_vec(cd_start, cd_size as usize)
        .map_err(|e| format!("cannot read the central directory: {e}"))?;
    let mut pos = 0usize;
    let mut names = std::collections::HashSet::new();
    while pos + 46 <= cd.len() {
        if cd.get(pos..pos + 4) != Some(b"PK\x01\x02") {
            dir.anomalies.push(format!(
                "the central directory has {} bytes that are not entries",
                cd.len() - pos
            ));
            break;
        }
        if dir.entries.len() as u64 >= max_entries {
            // The first `max_entries` are scanned; the caller reports the limit.
            dir.member_limit_hit = true;
            break;
        }
        let h = cd.get(pos..).unwrap_or(&[]);
        let made_by = u16_at(h, 4).unwrap_or(0);
        let flags = u16_at(h, 8).unwrap_or(0);
        let method = u16_at(h, 10).unwrap_or(0);
        let crc32 = u32_at(h, 16).unwrap_or(0);
        let mut csize = u64::from(u32_at(h, 20).unwrap_or(0));
        let mut usize_ = u64::from(u32_at(h, 24).unwrap_or(0));
        let name_len = usize::from(u16_at(h, 28).unwrap_or(0));
        let extra_len = usize::from(u16_at(h, 30).unwrap_or(0));
        let comment_len = usize::from(u16_at(h, 32).unwrap_or(0));
        let external_attrs = u32_at(h, 38).unwrap_or(0);
        let mut local = u64::from(u32_at(h, 42).unwrap_or(0));
        let raw_name = h
            .get(46..46 + name_len)
            .ok_or("central directory entry runs past its end")?;
        let extra = h
            .get(46 + name_len..46 + name_len + extra_len)
            .unwrap_or(&[]);
        let name = decode_name(raw_name, flags);
        // Zip64 extended information extra field (0x0001).
        let mut e = 0usize;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).unwrap_or(0);
            let len = usize::from(u16_at(extra, e + 2).unwrap_or(0));
            if id == 1 {
                let data = extra.get(e + 4..e + 4 + len).unwrap_or(&[]);
                let mut k = 0usize;
                if usize_ == 0xFFFF_FFFF {
                    usize_ = u64_at(data, k).unwrap_or(usize_);
                    k += 8;
                }
                if csize == 0xFFFF_FFFF {
                    csize = u64_at(data, k).unwrap_or(csize);
                    k += 8;
                }
                if local == 0xFFFF_FFFF {
                    local = u64_at(data, k).unwrap_or(local);
                }
            }
            e += 4 + len;
        }
        pos += 46 + name_len + extra_len + comment_len;
        let local_offset = local.saturating_add(concat);
        let lh = blob.read_vec(local_offset, 30).unwrap_or_default();
        if !lh.starts_with(b"PK\x03\x04") {
            dir.anomalies.push(format!(
                "member {name}: no local header where the central directory points"
            ));
            continue;
        }
        let lflags = u16_at(&lh, 6).unwrap_or(0);
        let lname_len = u64::from(u16_at(&lh, 26).unwrap_or(0));
        let lextra_len = u64::from(u16_at(&lh, 28).unwrap_or(0));
        let lname = blob
            .read_vec(local_offset + 30, lname_len as usize)
            .unwrap_or_default();
        let lname = decode_name(&lname, lflags);
        if lname != name {
            dir.anomalies.push(format!(
                "member {name}: its local header names it {lname:?} (readers disagree on the name)"
            ));
        }
        if (lflags & 1) != (flags & 1) {
            dir.anomalies.push(format!(
                "member {name}: the encryption flag differs between the local and central headers"
            ));
        }
        if !names.insert(name.clone()) {
            dir.anomalies.push(format!(
                "member {name} appears more than once (readers pick different copies); every copy is scanned"
            ));
        }
        let data_offset = local_offset + 30 + lname_len + lextra_len;
        dir.entries.push(ZipEntry {
            name,
            flags: flags | lflags,
            method,
            crc32,
            compressed_size: csize,
            uncompressed_size: usize_,
            local_offset,
            data_offset,
            external_attrs,
            made_by,
        });
    }
    if declared != dir.entries.len() as u64 && declared != 0xFFFF && !dir.member_limit_hit {
        dir.anomalies.push(format!(
            "the end-of-central-directory record counts {declared} members, the central directory holds {}",
            dir.entries.len()
        ));
    }
    Ok(dir)
}

/// Names are UTF-8 when flag bit 11 is set, CP437 otherwise (Python decodes the same way).
fn decode_name(raw: &[u8], flags: u16) -> String {
    if flags & 0x800 != 0 || raw.is_ascii() {
        return String::from_utf8_lossy(raw).into_owned();
    }
    raw.iter().map(|&b| cp437(b)).collect()
}

fn cp437(b: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    if b < 0x80 {
        char::from(b)
    } else {
        HIGH.chars().nth(usize::from(b - 0x80)).unwrap_or('?')
    }
}
