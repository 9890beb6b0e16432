namespace MiniGpt.Data;

/// <summary>
/// A big BPE vocabulary cut down to the ids a corpus uses: compact id i stands for original id
/// <c>ids[i]</c>, and id <c>ids.Length</c> is "unknown" for text outside them. A 10M-parameter model on
/// Shakespeare then needs an embedding of ~12k rows instead of cl100k's 100k.
/// </summary>
public sealed class CompactTokenizer : ITokenizer
{
    readonly ITokenizer inner;
    readonly int[] originalIds;                       // compact → original
    readonly Dictionary<int, int> compactIds = new(); // original → compact

    public CompactTokenizer(ITokenizer inner, IEnumerable<int> usedIds)
    {
        if (inner is CompactTokenizer) throw new ArgumentException("a compact tokenizer cannot wrap another");
        this.inner = inner;
        originalIds = usedIds.Distinct().Order().ToArray();
        for (int i = 0; i < originalIds.Length; i++) compactIds[originalIds[i]] = i;
    }

    public TokenizerKind Kind => inner.Kind;
    public int UnknownId => originalIds.Length;
    public int VocabSize => originalIds.Length + 1;

    public int Map(int originalId) => compactIds.GetValueOrDefault(originalId, UnknownId);

    public IReadOnlyList<int> Encode(string text) => inner.Encode(text).Select(Map).ToList();

    /// <summary>The inner tokenizer's ids, appended, then mapped where they lie: a model's compact vocabulary prepares its corpus so.</summary>
    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        int from = ids.Count;
        inner.Encode(text, ids);
        foreach (ref int id in System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ids)[from..]) id = Map(id);
    }

    /// <summary>Runs between unknown ids decode through the inner tokenizer; each unknown id becomes U+FFFD.</summary>
    public string Decode(IEnumerable<int> ids)
    {
        var sb = new System.Text.StringBuilder();
        var run = new List<int>();
        foreach (var id in ids)
        {
            if ((uint)id > (uint)UnknownId) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} is outside the vocabulary of {VocabSize}");
            if (id == UnknownId)
            {
                sb.Append(inner.Decode(run)).Append('\uFFFD');
                run.Clear();
            }
            else run.Add(originalIds[id]);
        }
        return sb.Append(inner.Decode(run)).ToString();
    }

    public TokenizerDescription Describe() => inner.Describe() with { CompactIds = originalIds };

    public ITokenizer ForAnotherThread() => new CompactTokenizer(inner.ForAnotherThread(), originalIds);
}
