namespace MiniGpt.Data;

/// <summary>
/// tiktoken's byte-pair merge of one piece's UTF-8 bytes b₀…bₙ₋₁: each byte starts as a part; while some adjacent
/// pair of parts concatenates to a token, the pair of lowest rank (the leftmost of equal ranks) becomes one part.
/// The ids are the final parts' ranks. Both methods give the same parts; <see cref="MergeLong"/> is the one for long pieces.
/// </summary>
public static class BytePairMerge
{
    /// <summary>Pieces longer than this many bytes go to <see cref="MergeLong"/>: the scan below is quadratic in the piece.</summary>
    public const int ScanLimit = 128;

    /// <summary>The merge as tiktoken states it: scan every adjacent pair for the lowest rank, merge it, again.</summary>
    public static int[] Merge(ReadOnlySpan<byte> piece, RankTable ranks)
    {
        int n = piece.Length;
        // start[i]: where part i begins (start[parts] = n); rank[i]: the rank of parts i and i+1 together.
        Span<int> start = n < 256 ? stackalloc int[n + 1] : new int[n + 1];
        Span<int> rank = n < 256 ? stackalloc int[n + 1] : new int[n + 1];
        int parts = n;
        for (int i = 0; i <= n; i++) start[i] = i;
        for (int i = 0; i < n; i++) rank[i] = PairRank(piece, start, parts, i, ranks);
        while (parts > 1)
        {
            int best = 0;
            for (int i = 1; i < parts - 1; i++) if (rank[i] < rank[best]) best = i;
            if (rank[best] == int.MaxValue) break;
            // Part best+1 joins part best; the pairs that held either are ranked again.
            start[(best + 1)..(parts + 1)].Slice(1).CopyTo(start[(best + 1)..]);
            rank[(best + 1)..parts].Slice(1).CopyTo(rank[(best + 1)..]);
            parts--;
            rank[best] = PairRank(piece, start, parts, best, ranks);
            if (best > 0) rank[best - 1] = PairRank(piece, start, parts, best - 1, ranks);
        }
        var ids = new int[parts];
        for (int i = 0; i < parts; i++) ids[i] = ranks.RankOf(piece[start[i]..start[i + 1]]);
        return ids;
    }

    /// <summary>The rank of parts <paramref name="i"/> and i+1 together; none (int.MaxValue) when that is no token or there is no part i+1.</summary>
    static int PairRank(ReadOnlySpan<byte> piece, ReadOnlySpan<int> start, int parts, int i, RankTable ranks)
        => i + 2 <= parts && ranks.TryGetRank(piece[start[i]..start[i + 2]], out int r) ? r : int.MaxValue;

    /// <summary>
    /// The same merges in O(n log n): candidate pairs wait in a heap ordered by (rank, start), and a pair whose parts
    /// have changed since it was queued is dropped when it comes out. The smallest pair still valid is the one the scan
    /// would find, so the parts are the same.
    /// </summary>
    public static int[] MergeLong(ReadOnlySpan<byte> piece, RankTable ranks)
    {
        int n = piece.Length;
        // Parts as a linked list over their first bytes: end[s] is where the part starting at s ends, -1 once it has joined the one before.
        var end = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++) (end[i], prev[i]) = (i + 1, i - 1);
        var heap = new PriorityQueue<(int Start, int End), (int Rank, int Start)>();
        for (int i = 0; i + 1 < n; i++) Queue(heap, piece, i, i + 2, ranks);
        while (heap.TryDequeue(out var pair, out _))
        {
            int right = end[pair.Start] is var e && e >= 0 && e < n ? e : -1;
            if (right < 0 || end[right] != pair.End) continue;   // either part has changed since the pair was queued
            end[pair.Start] = pair.End;
            end[right] = -1;
            if (pair.End < n) prev[pair.End] = pair.Start;
            if (prev[pair.Start] >= 0) Queue(heap, piece, prev[pair.Start], pair.End, ranks);
            if (pair.End < n) Queue(heap, piece, pair.Start, end[pair.End], ranks);
        }
        var ids = new List<int>();
        for (int s = 0; s < n; s = end[s]) ids.Add(ranks.RankOf(piece[s..end[s]]));
        return [.. ids];
    }

    static void Queue(PriorityQueue<(int Start, int End), (int Rank, int Start)> heap, ReadOnlySpan<byte> piece, int from, int to, RankTable ranks)
    {
        if (ranks.TryGetRank(piece[from..to], out int r)) heap.Enqueue((from, to), (r, from));
    }
}
