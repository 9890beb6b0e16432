using System.IO.Compression;
using System.Reflection;
using MiniGpt.Data;

namespace MiniGpt.Tests.Data;

public class TiktokenRanksTests
{
    [Theory]
    [InlineData(TokenizerKind.Cl100kBase, "Microsoft.ML.Tokenizers.Data.Cl100kBase", "cl100k_base", 100_255)]
    [InlineData(TokenizerKind.O200kBase, "Microsoft.ML.Tokenizers.Data.O200kBase", "o200k_base", 199_997)]
    // The last rank: cl100k_base merges 100,256 tokens, o200k_base 199,998.
    public void BundledRanks_AreTheDataPackagesLines_ReadAsText(TokenizerKind encoding, string package, string name, int lastRank)
    {
        // The plain reading: a line of text at a time, split, base64 decoded as a string.
        using var resource = Assembly.Load(package).GetManifestResourceStream($"{name}.tiktoken.deflate")!;
        using var reader = new StreamReader(new DeflateStream(resource, CompressionMode.Decompress));
        var expected = new List<(string Bytes, int Rank)>();
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            if (line.StartsWith("Capacity:", StringComparison.Ordinal) || line.Length == 0) continue;
            var parts = line.Split(' ');
            int rank = parts.Length == 2 ? int.Parse(parts[1]) : expected.Count == 0 ? 0 : expected[^1].Rank + 1;
            expected.Add((Convert.ToHexString(Convert.FromBase64String(parts[0])), rank));
        }
        var ranks = TiktokenRanks.Of(new TokenizerDescription(encoding))!;
        Assert.Equal(expected, ranks.Select(r => (Convert.ToHexString(r.Bytes), r.Rank)));
        Assert.Equal(lastRank, ranks[^1].Rank);
    }
}
