//! Byte offsets to `line:column`, the way editors count: lines from 1 split at `\n`,
//! columns from 1 in characters.

/// Line and column of `offset` in `text`, scanning from the start. For one-off error positions.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = floor_char_boundary(text, offset);
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Precomputed line starts, for many lookups in one text (listing every entry with its line).
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> Self {
        // memchr: the whole file is indexed the first time any position is reported.
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        Self { starts }
    }

    /// Line and column of `offset` in the `text` this index was built from.
    pub fn locate(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset);
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, text[start..offset].chars().count() + 1)
    }
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ways_agree() {
        let text = "ab\r\ncé\n\nxyz";
        let index = LineIndex::new(text);
        for offset in 0..=text.len() {
            assert_eq!(
                index.locate(text, offset),
                line_column(text, offset),
                "offset {offset}"
            );
        }
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 7), (2, 3));
        assert_eq!(line_column(text, 9), (4, 1));
    }
}
