using System.Buffers;
using System.Buffers.Text;
using System.IO.Compression;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace MiniGpt.Data;

/// <summary>
/// The mergeable tokens of a tiktoken-style BPE (cl100k_base, o200k_base, a .tiktoken file): each token's bytes
/// and its rank, which is also its id. Exporters need them; the tokenizers themselves keep theirs private.
/// </summary>
public static class TiktokenRanks
{
    /// <summary>The ranks of a tiktoken-style description, in rank order; null for a GPT-2 vocab.json + merges.txt or a char vocabulary.</summary>
    public static IReadOnlyList<(byte[] Bytes, int Rank)>? Of(TokenizerDescription d) => d.Kind switch
    {
        TokenizerKind.Cl100kBase or TokenizerKind.O200kBase => Bundled(d.Kind),
        TokenizerKind.Bpe when d.Tiktoken is not null => Parse(d.Tiktoken),
        _ => null,
    };

    /// <summary>A .tiktoken file: "base64-token rank" per line.</summary>
    /// <exception cref="FormatException">A line is not "base64-token rank" with a rank ≥ 0.</exception>
    public static IReadOnlyList<(byte[] Bytes, int Rank)> Parse(string contents)
    {
        var ranks = new List<(byte[] Bytes, int Rank)>();
        foreach (var line in contents.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Trim().Split(' ');
            if (parts.Length != 2 || !int.TryParse(parts[1], out int rank) || rank < 0)
                throw new FormatException($"line '{(line.Length > 40 ? line[..40] + "…" : line)}' is not 'base64-token rank'");
            ranks.Add((Convert.FromBase64String(parts[0]), rank));
        }
        var sorted = ranks.OrderBy(r => r.Rank).ToList();
        Check(sorted);
        return sorted;
    }

    /// <summary>The most ranks a file may name: a rank is an id, and ids index an embedding.</summary>
    public const int MaxRank = Tokenizers.MaxVocabSize - 1;

    /// <summary>
    /// Ranks in rank order as tiktoken needs them: each at most <see cref="MaxRank"/> and a token's alone, each token
    /// ranked once, and every single byte a token, or text holding that byte has no tokens. Ids with no token between
    /// ranks are allowed (they decode to nothing), as tiktoken allows them.
    /// </summary>
    /// <exception cref="FormatException">One of these does not hold.</exception>
    static void Check(IReadOnlyList<(byte[] Bytes, int Rank)> sorted)
    {
        if (sorted.Count > 0 && sorted[^1].Rank > MaxRank) throw new FormatException($"rank {sorted[^1].Rank} is above {MaxRank:N0}, the largest id MiniGpt holds");
        for (int i = 1; i < sorted.Count; i++)
            if (sorted[i].Rank == sorted[i - 1].Rank) throw new FormatException($"two tokens have rank {sorted[i].Rank}");
        var tokens = new HashSet<string>(sorted.Count, StringComparer.Ordinal);
        var single = new bool[256];
        foreach (var (bytes, rank) in sorted)
        {
            if (!tokens.Add(Convert.ToBase64String(bytes))) throw new FormatException($"the token of rank {rank} is ranked twice");
            if (bytes.Length == 1) single[bytes[0]] = true;
        }
        if (Array.IndexOf(single, false) is >= 0 and var missing)
            throw new FormatException($"no token for byte {ByteAlphabet.Name((byte)missing)}, so text holding it could not be encoded");
    }

    /// <summary>
    /// The ranks Microsoft.ML.Tokenizers encodes cl100k_base and o200k_base with: its data packages embed them as a
    /// deflated file of one base64 token per line, in rank order, after a "Capacity: N" line.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // 100,000 lines, each a few calls
    static IReadOnlyList<(byte[] Bytes, int Rank)> Bundled(TokenizerKind encoding)
    {
        var name = Choices.Name(encoding);
        var package = encoding == TokenizerKind.Cl100kBase ? "Microsoft.ML.Tokenizers.Data.Cl100kBase" : "Microsoft.ML.Tokenizers.Data.O200kBase";
        using var compressed = Assembly.Load(package).GetManifestResourceStream($"{name}.tiktoken.deflate")
                               ?? throw new InvalidOperationException($"{package} holds no {name}.tiktoken.deflate");
        var inflated = new MemoryStream();
        using (var deflate = new DeflateStream(compressed, CompressionMode.Decompress)) deflate.CopyTo(inflated);
        // Read as bytes, not lines of text: strings, splits and base64 strings for 100,000 lines were most of the
        // time a prepare waited for its tokenizer (docs/benchmarks.md).
        ReadOnlySpan<byte> rest = inflated.GetBuffer().AsSpan(0, (int)inflated.Length);
        var ranks = new List<(byte[] Bytes, int Rank)>();
        Span<byte> token = stackalloc byte[256];
        while (!rest.IsEmpty)
        {
            int end = rest.IndexOf((byte)'\n');
            var line = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];
            line = line.TrimEnd((byte)'\r');
            if (line.IsEmpty || line.StartsWith("Capacity:"u8)) continue;
            // A line may also carry its rank, as in a .tiktoken file; without one it is the next rank.
            int space = line.IndexOf((byte)' ');
            var base64 = space < 0 ? line : line[..space];
            int rank = space < 0 ? (ranks.Count == 0 ? 0 : ranks[^1].Rank + 1)
                : Utf8Parser.TryParse(line[(space + 1)..], out int r, out int used) && used == line.Length - space - 1 ? r
                : throw new FormatException($"{name}: a rank is not a number");
            if (Base64.DecodeFromUtf8(base64, token, out int read, out int written) != OperationStatus.Done || read != base64.Length)
                throw new FormatException($"{name}: a token is not base64 of at most {token.Length} bytes");
            ranks.Add((token[..written].ToArray(), rank));
        }
        return ranks;
    }
}
