namespace MiniGpt.Tests.TestSupport;

/// <summary>tiktoken's byte-pair merge, written as plainly as its reference states it, to hold the fast ones to.</summary>
public static class TiktokenReference
{
    /// <summary>Bytes as a string of the same length, one character per byte, to key a dictionary by.</summary>
    public static string Latin1(ReadOnlySpan<byte> bytes) => System.Text.Encoding.Latin1.GetString(bytes);

    /// <summary>
    /// tiktoken's byte-pair merge as its educational reference (tiktoken/_educational.py) states it: merge the adjacent
    /// pair whose concatenation has the lowest rank, the leftmost of equals, until no pair is a token.
    /// </summary>
    public static List<int> Merge(byte[] piece, Dictionary<string, int> ranks)
    {
        var parts = Enumerable.Range(0, piece.Length).Select(i => Latin1(piece.AsSpan(i, 1))).ToList();
        int Rank(int i) => ranks.TryGetValue(parts[i] + parts[i + 1], out int r) ? r : int.MaxValue;
        var pairRanks = Enumerable.Range(0, parts.Count - 1).Select(Rank).ToList();
        while (pairRanks.Count > 0)
        {
            int best = 0;
            for (int i = 1; i < pairRanks.Count; i++) if (pairRanks[i] < pairRanks[best]) best = i;
            if (pairRanks[best] == int.MaxValue) break;
            parts[best] += parts[best + 1];
            parts.RemoveAt(best + 1);
            pairRanks.RemoveAt(best);
            if (best < pairRanks.Count) pairRanks[best] = Rank(best);
            if (best > 0) pairRanks[best - 1] = Rank(best - 1);
        }
        return parts.Select(p => ranks[p]).ToList();
    }
}
