//! "Did you mean": the closest expected name for a misspelt key or value.

/// For serde's "unknown field/variant `x`, expected one of `a`, `b`" messages,
/// the expected name closest to `x` by edit distance, if it is close enough.
pub fn suggestion(message: &str) -> Option<String> {
    let rest = ["unknown field `", "unknown variant `"].iter().find_map(|p| message.strip_prefix(p))?;
    let (unknown, rest) = rest.split_once('`')?;
    let (_, expected) = rest.split_once("expected")?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    let (best, dist) = candidates.iter().map(|c| (*c, edit_distance(unknown, c))).min_by_key(|&(_, d)| d)?;
    (dist <= unknown.len().max(best.len()) / 2 + 1 && dist > 0).then(|| best.to_string())
}

/// Levenshtein distance over characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_pick_the_closest_expected_name() {
        let msg = "unknown field `hiden`, expected one of `cell`, `hidden`, `init`";
        assert_eq!(suggestion(msg).as_deref(), Some("hidden"));
        assert_eq!(suggestion("unknown variant `gr`, expected `rnn` or `gru`").as_deref(), Some("gru"));
        assert_eq!(suggestion("unknown field `zzzzzzzz`, expected `cell`"), None);
        assert_eq!(suggestion("invalid type: string"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
