using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;
using static MiniGpt.Tests.TestSupport.CraftedParquet;

namespace MiniGpt.Tests.Data;

public class ParquetFooterTests
{
    static string? ProblemOf(byte[] file) { using var s = new MemoryStream(file); return ParquetFooter.Problem(s); }

    [Fact]
    public void TheFootersOfThreeWriters_AreWellFormed()
    {
        using var dir = new TempDir();
        var parquetNet = File.ReadAllBytes(CorpusFiles.Parquet(dir.File("c.parquet"), "text", ["a", "b"], ["c", null, "e"]));
        var hyparquet = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "documents_hyparquet.parquet"));
        var crafted = CraftedParquet.Bytes("text", new Group(["a", "b"]), new Group([null, "c"], NullsAfter: 1000));
        Assert.All(new[] { parquetNet, hyparquet, crafted }, f => Assert.Null(ProblemOf(f)));
    }

    public static TheoryData<string, byte[], string> Damaged()
    {
        var good = CraftedParquet.Bytes("text", new Group(["hello", "world"]), new Group(["third"]));
        var stopFlipped = (byte[])good.Clone();
        stopFlipped[^9] = 0x1C;   // the footer's last stop byte becomes "next field, a struct", and the footer runs out inside it
        byte[] version = [0x15, 0x02];   // field 1, i32 1
        return new()
        {
            { "its last stop byte changed", stopFlipped, "its footer is not well formed (it ends inside a value, at byte " },
            { "a struct field with nothing after it", WithFooter([], [.. version, 0x0C, 0x64]), "its footer is not well formed (it ends inside a value, at byte 4)" },
            { "structs 40 deep", WithFooter([], [.. version, 0x0C, 0x64, .. Enumerable.Repeat((byte)0x1C, 40), .. new byte[42]]), "structs nested more than 32 deep" },
            // Lists of lists recurse too: 100,000 deep would overflow the stack of a walk that did not count them.
            { "lists 100,000 deep", WithFooter([], [.. version, 0x19, .. Enumerable.Repeat((byte)0x19, 100_000)]), "values nested more than 32 deep" },
            { "a list of a billion", WithFooter([], [.. version, 0x19, 0xFC, .. Varint(1_000_000_000), 0]), "a count of 1,000,000,000 at byte 9, more than the 1 to its end" },
            { "a string longer than the footer", WithFooter([], [.. version, 0x18, .. Varint(int.MaxValue)]), "a count of 2,147,483,647" },
            { "a type Thrift has not", WithFooter([], [.. version, 0x1D, 0]), "type 13 at byte 2" },
            { "a length beyond the file", [.. good[..^8], 0xF0, 0xFF, 0xFF, 0x7F, .. "PAR1"u8], "its footer claims 2,147,483,632 bytes, and the file has " },
            { "no magic number at the end", good[..^1], "it does not end with PAR1" },
            { "eleven bytes", "PAR1abcPAR1"u8.ToArray(), "11 bytes, too short for a Parquet file" },
        };
    }

    [Theory]
    [MemberData(nameof(Damaged))]
    public void ADamagedFooter_IsNamed_BeforeParquetNetReadsIt(string damage, byte[] file, string problem)
    {
        Assert.True(ProblemOf(file)?.Contains(problem), $"{damage}: {ProblemOf(file)}");
    }

    [Fact]
    public void Prepare_NamesTheDamagedFooter()
    {
        using var dir = new TempDir();
        var good = CraftedParquet.Bytes("text", new Group(["hello"]));
        var corpus = dir.File("c.parquet");
        File.WriteAllBytes(corpus, [.. good[..^8], 0xF0, 0xFF, 0xFF, 0x7F, .. "PAR1"u8]);
        var ex = Assert.Throws<BadDocumentException>(() => CorpusPreparer.Prepare(new PrepareOptions(corpus, TokenizerKind.Char, dir.File("out"))));
        Assert.StartsWith($"{corpus}: the whole file: not a readable Parquet file (its footer claims 2,147,483,632 bytes", ex.Message);
    }
}
