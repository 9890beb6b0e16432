using System.Text;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class BytePairMergeTests
{
    /// <summary>Every byte, then the given tokens in rank order from 256.</summary>
    static RankTable Table(params string[] tokens)
        => new([.. Enumerable.Range(0, 256).Select(b => (new[] { (byte)b }, b)), .. tokens.Select((t, i) => (Encoding.ASCII.GetBytes(t), 256 + i))]);

    public static readonly TheoryData<string[], string, int[]> WorkedExamples = new()
    {
        // The lowest rank merges first, not the leftmost pair: "bc" (256) before "ab" (257).
        { ["bc", "ab"], "abc", ['a', 256] },
        // Of equal ranks, the leftmost: "aa" at 0, then no pair of "aa" and "a" is a token.
        { ["aa"], "aaa", [256, 'a'] },
        // Merged parts merge again: aa|a|a|a → aa|aa|a → aaaa|a.
        { ["aa", "aaaa"], "aaaaa", [257, 'a'] },
        // A token that no merge reaches is not found: "abc" whole is ranked, but neither "ab" nor "bc" is.
        { ["abc"], "abc", ['a', 'b', 'c'] },
        { ["ab"], "x", ['x'] },
    };

    [Theory]
    [MemberData(nameof(WorkedExamples))]
    public void Merge_JoinsTheLowestRankedPair_LeftmostOfEquals_UntilNoPairIsAToken(string[] tokens, string piece, int[] ids)
    {
        var table = Table(tokens);
        Assert.Equal(ids, BytePairMerge.Merge(Encoding.ASCII.GetBytes(piece), table));
        Assert.Equal(ids, BytePairMerge.MergeLong(Encoding.ASCII.GetBytes(piece), table));
    }

    [Fact]
    public void MergeAndMergeLong_GiveTiktokensReferenceMerge_OnRandomPiecesAndTables()
    {
        // A four-letter alphabet and 400 random tokens of 2-7 letters: pieces merge many times, with many ties, and
        // pieces run past the scan's limit.
        var random = new Random(11);
        string Word(int length) => new([.. Enumerable.Range(0, length).Select(_ => "abcd"[random.Next(4)])]);
        var tokens = Enumerable.Range(0, 400).Select(_ => Word(random.Next(2, 8))).Distinct().ToArray();
        var table = Table(tokens);
        var reference = Enumerable.Range(0, 256).ToDictionary(b => TiktokenReference.Latin1([(byte)b]), b => b);
        for (int i = 0; i < tokens.Length; i++) reference[tokens[i]] = 256 + i;
        int merged = 0;
        foreach (var length in new[] { 1, 2, 3, 5, 8, 13, 40, 127, 128, 129, 300, 1000 })
            for (int trial = 0; trial < 20; trial++)
            {
                var piece = Encoding.ASCII.GetBytes(Word(length));
                var expected = TiktokenReference.Merge(piece, reference);
                Assert.Equal(expected, BytePairMerge.Merge(piece, table));
                Assert.Equal(expected, BytePairMerge.MergeLong(piece, table));
                merged += piece.Length - expected.Count;
            }
        Assert.True(merged > 10_000, $"only {merged} merges: the table hardly merges these pieces");
    }
}
