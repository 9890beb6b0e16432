using MiniGpt.Data;

namespace MiniGpt.Formats;

/// <summary>
/// A byte-level BPE as Hugging Face's BPE model holds it: tokens spelled in GPT-2's byte alphabet (one printable
/// character per byte), each with its id, and the merges in priority order.
/// </summary>
/// <param name="Vocab">Tokens in id order.</param>
/// <param name="Merges">The merges, highest priority first.</param>
/// <param name="IgnoreMerges">A piece that is a token whole becomes that token without merging (tiktoken does this; GPT-2 does not).</param>
sealed record ByteLevelBpe(IReadOnlyList<(string Token, int Id)> Vocab, IReadOnlyList<(string Left, string Right)> Merges, bool IgnoreMerges)
{
    /// <summary>
    /// Vocabulary and merges from tiktoken ranks, the way Hugging Face's TikTokenConverter reconstructs them: every
    /// split of a token into two tokens is a merge, ordered by the merged token's rank, then by the ranks of the
    /// left and right parts. tiktoken merges the adjacent pair whose concatenation has the lowest rank; listing
    /// every split, not only those into lower ranks, gives the BPE model a merge for any pair tiktoken could meet.
    /// </summary>
    /// <param name="special">Special tokens; they join the vocabulary at their ids (see <see cref="Filler"/>).</param>
    /// <exception cref="DataException">Two ranks are the same token.</exception>
    public static ByteLevelBpe FromRanks(IReadOnlyList<(byte[] Bytes, int Rank)> ranks, IReadOnlyDictionary<string, int> special, string source)
    {
        var tokens = ranks.Select(r => (Token: ByteAlphabet.Spell(r.Bytes), Id: r.Rank)).ToList();
        var ids = new Dictionary<string, int>(tokens.Count, StringComparer.Ordinal);
        foreach (var (token, id) in tokens)
            if (!ids.TryAdd(token, id)) throw new DataException(source, $"{source}: ranks {ids[token]} and {id} are the same token");
        var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();   // looks up substrings without allocating them
        var splits = new List<(int Rank, int LeftRank, int RightRank, int At)>();
        foreach (var (token, id) in tokens)
            for (int at = 1; at < token.Length; at++)
                if (lookup.TryGetValue(token.AsSpan(0, at), out int left) && lookup.TryGetValue(token.AsSpan(at), out int right))
                    splits.Add((id, left, right, at));
        splits.Sort();
        var byId = tokens.Concat(special.Select(kv => (Token: kv.Key, Id: kv.Value))).ToDictionary(t => t.Id, t => t.Token);
        var merges = splits.Select(s => (byId[s.Rank][..s.At], byId[s.Rank][s.At..])).ToList();
        var vocab = Enumerable.Range(0, byId.Keys.Max() + 1).Select(id => (byId.GetValueOrDefault(id) ?? Filler(id), id)).ToList();
        return new ByteLevelBpe(vocab, merges, IgnoreMerges: true);
    }

    /// <summary>
    /// A name for an id no token has (cl100k_base has none at 100256 and 100261–100275). Hugging Face numbers an added
    /// token that the model's vocabulary lacks after that vocabulary, whatever tokenizer.json says; so the special
    /// tokens are in the vocabulary at their ids, and the ids between are filled. The space keeps a filler from ever
    /// being encoded: the byte alphabet spells a space Ġ, so no piece of text is ever spelled with one.
    /// </summary>
    public static string Filler(int id) => $"<|unused {id}|>";

    /// <summary>
    /// GPT-2's vocab.json and merges.txt as they are, merges in file order. Every merge's parts and result must be in
    /// the vocabulary, as Hugging Face's BPE requires: Microsoft.ML.Tokenizers refuses the files otherwise, so a
    /// description MiniGpt reads has them.
    /// </summary>
    public static ByteLevelBpe FromGpt2(string vocabJson, string merges)
    {
        var ids = System.Text.Json.JsonSerializer.Deserialize<Dictionary<string, int>>(vocabJson)!;
        var pairs = LibraryTokenizer.MergeLines(merges).Select(l => l.Split(' ')).Select(p => (p[0], p[1])).ToList();
        // OrderBy is stable: tokens that share an id keep vocab.json's order.
        return new ByteLevelBpe(ids.Select(kv => (kv.Key, kv.Value)).OrderBy(t => t.Value).ToList(), pairs, IgnoreMerges: false);
    }
}
