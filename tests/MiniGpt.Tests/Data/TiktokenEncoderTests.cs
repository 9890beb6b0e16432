using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

/// <summary>The encoder against Microsoft.ML.Tokenizers, whose ids caches and models made before it hold.</summary>
public class TiktokenEncoderTests
{
    /// <summary>Text that reaches every branch: special tokens whole and broken, lone surrogates, U+FFFD, long pieces, every script. Unescape each (<see cref="Regex.Unescape"/>).</summary>
    public static readonly TheoryData<string> Texts =
    [
        "",
        SmallBpe.MultiByteText,
        "I'LL say it's 1234567 3.14\r\n\r\n  x  \n\n\t y 𝐀𝐁c x𝟏𝟐3 👨‍👩‍👧 日本語 don't\tcafé ==== ends  \n  ",
        "a<|endoftext|>b<|fim_prefix|><|fim_middle|><|fim_suffix|>x<|endofprompt|><|endoftext|>",
        "<|endoftext|>", "<|endoftext", "<|", "|>", "<|<|endoftext|>|>", "< |endoftext|>", "<|ENDOFTEXT|>",
        // Escaped: a lone surrogate does not survive the test runner's serialisation of theory data.
        @"\uD800", @"x\uDC00y", @" \uD83D", @"\uD83D\uD83D\uDE00", @"a\uDBFF", "\uFFFD", " \uFFFD\uFFFD", "x\uFFFDy",
        new string('=', 3000), string.Concat(Enumerable.Repeat("ab", 2000)), new string(' ', 500) + "x",
        "      \n\n\n   \r\n\t\t  \u3000\u3000天地玄黄，宇宙洪荒。\u00A0\u2028é\u0301 ٣٤٥ Добрый день",
    ];

    /// <summary>An encoder of cl100k_base, as <see cref="LibraryTokenizer"/> makes one, with the limits given.</summary>
    static TiktokenEncoder Cl100kEncoder(int maxCachedPieces = TiktokenEncoder.DefaultMaxCachedPieces, long maxPieceBytes = TiktokenEncoder.MaxPieceBytes)
    {
        var t = (LibraryTokenizer)Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        return new TiktokenEncoder(new RankTable(TiktokenRanks.Of(t.Describe())!), t.Pattern, t.SpecialTokens, maxCachedPieces, maxPieceBytes);
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Encode_GivesTheLibrarysIds(string text)
    {
        text = Regex.Unescape(text);
        foreach (var encoding in new[] { TokenizerKind.Cl100kBase, TokenizerKind.O200kBase })
        {
            var library = TiktokenTokenizer.CreateForEncoding(Choices.Name(encoding));
            Assert.Equal(library.EncodeToIds(text), Tokenizers.CreateBpe(encoding).Encode(text));
        }
    }

    [Fact]
    public void Encode_GivesTheLibrarysIds_OnALongRandomText_ThroughACacheThatKeepsStartingAgain()
    {
        // Pieces drawn from every kind of text, 40,000 of them: with a cache of 50, most are encoded many times
        // over, some from the cache and some again after it started again.
        var random = new Random(3);
        string[] kinds = ["the", " the", " The", "ing", " 1234", "7", " 😀", "日本", "\n", "\n\n", "  ", " \t", "'s", "'LL", ",", "...",
                          " Добрый", "é", "e\u0301", "\uFFFD", "\uD800", "<|endoftext|>", "<|", "==", " x", "Zz", "٣", "\r\n"];
        var text = string.Concat(Enumerable.Range(0, 40_000).Select(_ => kinds[random.Next(kinds.Length)]));
        var encoder = Cl100kEncoder(maxCachedPieces: 50);
        var expected = TiktokenTokenizer.CreateForEncoding("cl100k_base").EncodeToIds(text);
        Assert.Equal(expected, encoder.Encode(text));
        Assert.InRange(encoder.CachedPieces, 1, 50);
        Assert.Equal(expected, encoder.ForAnotherThread().Encode(text));
        Assert.Equal(expected, Cl100kEncoder().Encode(text));
    }

    [Fact]
    public void TheCache_HoldsAtMostItsCharacters_WhenPiecesAreLong()
    {
        // 12,000 distinct pieces of 64 characters (a space and 63 CJK letters): 768,000 characters, past the cache's
        // budget, so it starts again on the way; the ids stay the library's.
        var random = new Random(9);
        var text = string.Concat(Enumerable.Range(0, 12_000).Select(_ => " " + new string([.. Enumerable.Range(0, 63).Select(_ => (char)random.Next(0x4E00, 0x9FFF))])));
        var encoder = Cl100kEncoder();
        Assert.Equal(TiktokenTokenizer.CreateForEncoding("cl100k_base").EncodeToIds(text), encoder.Encode(text));
        Assert.InRange(encoder.CachedChars, 64, TiktokenEncoder.MaxCachedCharsInAll);
        Assert.Equal(encoder.CachedChars, encoder.CachedPieces * 64);
    }

    [Theory]
    [InlineData("a", 100, true)]
    [InlineData("a", 101, false)]
    [InlineData("é", 50, true)]    // 150 bytes at the bound of 3 a character, but 100 in fact
    [InlineData("é", 51, false)]
    public void APieceLongerThanTheLimit_IsRefusedWithItsSize_NotMerged(string unit, int repeats, bool merged)
    {
        // By default the limit is what one array holds (a piece of 716 M characters overflowed a size computed as an int).
        var encoder = Cl100kEncoder(maxPieceBytes: 100);
        var piece = string.Concat(Enumerable.Repeat(unit, repeats));
        if (merged) { Assert.Equal(Tokenizers.CreateBpe(TokenizerKind.Cl100kBase).Encode(piece), encoder.Encode(piece)); return; }
        var e = Assert.Throws<PieceTooLongException>(() => encoder.Encode("x\n" + piece));
        Assert.Equal($"{repeats} characters in a row that the tokenizer's pattern does not split are {repeats * System.Text.Encoding.UTF8.GetByteCount(unit)} bytes of UTF-8; at most 100 can be merged as one piece", e.Message);
    }

    [Fact]
    public void RankTable_FindsEveryTokenByItsBytes_AndNothingElse()
    {
        // Tokens of up to 7 bytes are looked up by a number made of their bytes and length, longer ones by their bytes.
        var ranks = TiktokenRanks.Of(new TokenizerDescription(TokenizerKind.O200kBase))!;
        var table = new RankTable(ranks);
        Assert.All(ranks, r => Assert.True(table.TryGetRank(r.Bytes, out int rank) && rank == r.Rank, $"token {r.Rank}"));
        Assert.Contains(ranks, r => r.Bytes.Length == 7);
        Assert.Contains(ranks, r => r.Bytes.Length == 8);
        var tokens = ranks.Select(r => Convert.ToHexString(r.Bytes)).ToHashSet();
        var random = new Random(4);
        int tried = 0;
        for (int i = 0; i < 24_000; i++)
        {
            // Bytes that differ from a token in one place, or only by a zero byte more at the end.
            var token = ranks[random.Next(ranks.Count)].Bytes;
            var near = i % 2 == 0 ? [.. token, 0] : token.ToArray();
            if (i % 2 == 1) near[random.Next(near.Length)] ^= (byte)(1 + random.Next(255));
            if (tokens.Contains(Convert.ToHexString(near))) continue;
            Assert.False(table.TryGetRank(near, out _), Convert.ToHexString(near));
            tried++;
        }
        Assert.True(tried > 20_000);
    }

    [Fact]
    public void ASpecialTokenNotBeginningAsTheBundledOnesDo_IsRefused()
    {
        // Special tokens are looked for where "<|" begins; one that does not begin so would never be found.
        var table = new RankTable([.. Enumerable.Range(0, 256).Select(b => (new[] { (byte)b }, b))]);
        var e = Assert.Throws<ArgumentException>(() => new TiktokenEncoder(table, "\\w+", new Dictionary<string, int> { ["[END]"] = 256 }));
        Assert.StartsWith("special token '[END]' does not begin with \"<|\"", e.Message);
    }

    [Theory]
    [InlineData(TokenizerKind.Cl100kBase)]
    [InlineData(TokenizerKind.O200kBase)]
    public void SpecialTokens_AreTheLibrarys(TokenizerKind encoding)
    {
        var library = TiktokenTokenizer.CreateForEncoding(Choices.Name(encoding));
        var own = ((LibraryTokenizer)Tokenizers.CreateBpe(encoding)).SpecialTokens;
        Assert.Equal(library.SpecialTokens!.OrderBy(s => s.Value), own.OrderBy(s => s.Value));
    }

    [Theory]
    [InlineData(TokenizerKind.Cl100kBase)]
    [InlineData(TokenizerKind.O200kBase)]
    public void Decode_GivesTheLibrarysText_ForAnyIds(TokenizerKind encoding)
    {
        // Random ids split characters between tokens and hit special tokens, ids of no token (cl100k has none from
        // 100,261 to 100,275) and ids past the end, which add nothing.
        var library = TiktokenTokenizer.CreateForEncoding(Choices.Name(encoding));
        var t = Tokenizers.CreateBpe(encoding);
        var random = new Random(7);
        var specials = library.SpecialTokens!.Values.ToArray();
        for (int trial = 0; trial < 200; trial++)
        {
            var ids = Enumerable.Range(0, random.Next(0, 30)).Select(_ => random.Next(4) switch
            {
                0 => specials[random.Next(specials.Length)],
                1 => random.Next(t.VocabSize - 30, t.VocabSize + 30),
                2 => random.Next(-3, 3),
                _ => random.Next(t.VocabSize),
            }).ToArray();
            Assert.Equal(library.Decode(ids), t.Decode(ids));
        }
        Assert.Equal(SmallBpe.MultiByteText + "<|endoftext|>", t.Decode(t.Encode(SmallBpe.MultiByteText + "<|endoftext|>")));
    }

    [Fact]
    public void EveryBundledToken_IsWhatItsOwnBytesMergeTo()
    {
        // So for cl100k_base and o200k_base, looking a piece up whole only saves the merging; a file's ranks can
        // hold tokens that no merge reaches (below).
        foreach (var encoding in new[] { TokenizerKind.Cl100kBase, TokenizerKind.O200kBase })
        {
            var ranks = TiktokenRanks.Of(new TokenizerDescription(encoding))!;
            var table = new RankTable(ranks);
            Assert.All(ranks, r => Assert.Equal([r.Rank], BytePairMerge.MergeLong(r.Bytes, table)));
        }
    }

    [Theory]
    [MemberData(nameof(Texts))]
    [InlineData("xyz xyz")]
    [InlineData("\uFFFD\uFFFD")]
    public void TiktokenFile_EncodesAsTheLibraryDoesWithTheSamePattern(string text)
    {
        using var dir = new TempDir();
        text = Regex.Unescape(text);
        // Tokens no merge reaches: "xyz" (neither "xy" nor "yz" is one) is found whole, as the library finds it;
        // two U+FFFD and a lone surrogate's three bytes are not, as the library looks pieces up by their text and
        // keeps no token whose text is not clean UTF-8.
        string[] unreachable = ["xyz", "\uFFFD\uFFFD", "\uD800"];
        var contents = SmallBpe.Tiktoken(extraTokens: 30) + string.Concat(unreachable.Select((u, i) =>
            $"{Convert.ToBase64String(Utf8WithSurrogates(Regex.Unescape(u)))} {1000 + i}\n"));
        var t = (LibraryTokenizer)Tokenizers.CreateBpe(TokenizerKind.Bpe, tiktokenFile: dir.File("t.tiktoken", contents));
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(contents));
        var library = TiktokenTokenizer.Create(stream, new RegexPreTokenizer(new Regex(t.Pattern), null), normalizer: null);
        Assert.Equal(library.EncodeToIds(text), t.Encode(text));
        Assert.Equal(library.Decode(t.Encode(text)), t.Decode(t.Encode(text)));
    }

    /// <summary>UTF-8, but a lone surrogate as its own three bytes, as the library encodes text before merging.</summary>
    static byte[] Utf8WithSurrogates(string s)
        => s.Length == 1 && char.IsSurrogate(s[0]) ? [(byte)(0xE0 | s[0] >> 12), (byte)(0x80 | s[0] >> 6 & 0x3F), (byte)(0x80 | s[0] & 0x3F)]
            : System.Text.Encoding.UTF8.GetBytes(s);
}
