using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class LibraryTokenizerTests
{
    [Theory]
    [InlineData(TokenizerKind.Cl100kBase, 100277)]
    [InlineData(TokenizerKind.O200kBase, 200019)]
    public void Tiktoken_RoundTripsMultiByteText(TokenizerKind encoding, int vocabSize)
    {
        var t = Tokenizers.CreateBpe(encoding);
        Assert.Equal(vocabSize, t.VocabSize);
        var ids = t.Encode(SmallBpe.MultiByteText);
        Assert.True(ids.Count < SmallBpe.MultiByteText.Length, "BPE should merge characters");
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(ids));
        Assert.Equal(ids, Tokenizers.FromDescription(t.Describe(), "test").Encode(SmallBpe.MultiByteText));
    }

    [Theory]
    [MemberData(nameof(SmallBpe.Kinds), MemberType = typeof(SmallBpe))]
    public void ForAnotherThread_IsAnotherTokenizer_ThatEncodesAsThisOne(string which)
    {
        using var dir = new TempDir();
        var t = SmallBpe.Tokenizer(which, dir);
        var text = SmallBpe.MultiByteText + "<|endoftext|>  it's 12345 hello\r\n\n\n   world's\tДобрый день 🙂🙂 ٣٤٥ THE'LL  \n";
        var other = t.ForAnotherThread();
        Assert.NotSame(t, other);
        Assert.Equal(t.Describe(), other.Describe());
        Assert.Equal(t.VocabSize, other.VocabSize);
        // Both at once on two threads, many times: the same ids as one thread alone.
        var expected = t.Encode(text);
        var results = new IReadOnlyList<int>[2][];
        Parallel.For(0, 2, i => results[i] = Enumerable.Range(0, 200).Select(_ => (i == 0 ? t : other).Encode(text)).ToArray());
        Assert.All(results.SelectMany(r => r), ids => Assert.Equal(expected, ids));
    }

    [Theory]
    [MemberData(nameof(SmallBpe.Kinds), MemberType = typeof(SmallBpe))]
    public void EncodeIntoAList_AppendsTheIdsThatEncodeGives(string which)
    {
        using var dir = new TempDir();
        var t = SmallBpe.Tokenizer(which, dir);
        // Special tokens at the start, together and at the end: the span's own offsets, not a string's, find them.
        const string eot = "<|endoftext|>", rest = " it's 12345\r\n\n  world's 🙂";
        var text = eot + SmallBpe.MultiByteText + eot + eot + rest + eot;
        var ids = new List<int> { -7 };
        // From the middle of a longer text, as a prepare hands over a piece of its buffer.
        t.Encode(("xx" + text + "yy").AsSpan(2, text.Length), ids);
        Assert.Equal([-7, .. t.Encode(text)], ids);
        if (t.Encode(eot) is [var eotId])   // a .tiktoken file names no special tokens
            Assert.Equal([-7, eotId, .. t.Encode(SmallBpe.MultiByteText), eotId, eotId, .. t.Encode(rest), eotId], ids);
        else Assert.Equal("tiktoken file", which);
    }

    [Theory]
    [InlineData("cl100k_base")]
    [InlineData("tiktoken file")]
    public void ForAnotherThread_OfTiktoken_ReadsTheSameRankTables_RatherThanBuildingItsOwn(string which)
    {
        using var dir = new TempDir();
        var t = which == "cl100k_base" ? Tokenizers.CreateBpe(TokenizerKind.Cl100kBase)
            : Tokenizers.CreateBpe(TokenizerKind.Bpe, tiktokenFile: dir.File("big.tiktoken", SmallBpe.Tiktoken(extraTokens: 20_000)));
        t.ForAnotherThread();   // once first, so that what the Regex compiler allocates the first time is not counted
        long before = GC.GetAllocatedBytesForCurrentThread();
        var other = t.ForAnotherThread();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        // Tables built again would be ~20 MB for cl100k's 100,256 ranks and ~2 MB for 20,000; a Regex and a word cache are far less.
        Assert.True(allocated < 1 << 20, $"a tokenizer for another thread allocated {allocated:N0} bytes");
        Assert.Equal(t.Encode(SmallBpe.MultiByteText + " hello world"), other.Encode(SmallBpe.MultiByteText + " hello world"));
    }

    [Fact]
    public void Gpt2Bpe_FromVocabAndMerges_MergesAndRoundTrips()
    {
        using var dir = new TempDir();
        var (vocab, merges) = SmallBpe.Gpt2();
        var t = Tokenizers.CreateBpe(TokenizerKind.Bpe, dir.File("vocab.json", vocab), dir.File("merges.txt", merges));
        Assert.Equal(256 + 5 + 1, t.VocabSize);
        Assert.Equal([259, 260], t.Encode("hello w").Take(2));   // "hello", "Ġw"
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(t.Encode(SmallBpe.MultiByteText)));
        var restored = Tokenizers.FromDescription(t.Describe(), "test");
        Assert.Equal(t.Encode(SmallBpe.MultiByteText), restored.Encode(SmallBpe.MultiByteText));
    }

    [Fact]
    public void TiktokenFile_MergesAndRoundTrips()
    {
        using var dir = new TempDir();
        var t = Tokenizers.CreateBpe(TokenizerKind.Bpe, tiktokenFile: dir.File("tiny.tiktoken", SmallBpe.Tiktoken()));
        Assert.Equal(260, t.VocabSize);
        Assert.Equal([259], t.Encode("hello"));
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(t.Encode(SmallBpe.MultiByteText)));
    }

    [Theory]
    [InlineData("""{ "a": 0, "b": -1 }""", "token 'b' has id -1, outside [0, 2)")]
    [InlineData("""{ "a": 0, "b": 7 }""", "token 'b' has id 7, outside [0, 2)")]
    [InlineData("""{ "a": 1, "b": 1 }""", "tokens 'a' and 'b' share id 1")]
    public void VocabularyIds_MustBeDistinctIdsOfTheEmbedding(string vocab, string problem)
    {
        using var dir = new TempDir();
        var ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, dir.File("vocab.json", vocab), dir.File("merges.txt", "#version: 0.2\n")));
        Assert.Contains(problem, ex.Message);
    }

    [Theory]
    [InlineData("b", "no token for byte 0x62 'b' (spelled 'b'), so text holding it could not be encoded")]
    [InlineData("Ġ", "no token for byte 0x20 (spelled 'Ġ'), so text holding it could not be encoded")]
    public void Gpt2Vocabulary_WithoutATokenForEveryByte_IsRefused(string symbol, string problem)
    {
        // The library drops a byte it has no token for: "a bob" was 3 tokens, and eval scored the shorter text.
        using var dir = new TempDir();
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(SmallBpe.Gpt2().VocabJson)!;
        vocab["zzzq"] = vocab[symbol];
        vocab.Remove(symbol);
        var vocabFile = dir.File("vocab.json", JsonSerializer.Serialize(vocab));
        var ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, vocabFile, dir.File("merges.txt", "#version: 0.2\n")));
        Assert.Equal($"cannot read the BPE files {vocabFile} and {dir.File("merges.txt")}: {problem}", ex.Message);
    }

    [Theory]
    [InlineData("aGU= 256\nbGw= 256\n", "two tokens have rank 256")]
    [InlineData("aGU= 256\naGU= 257\n", "the token of rank 257 is ranked twice")]
    [InlineData("aGU= 2147483647\n", "rank 2147483647 is above 16,777,215, the largest id MiniGpt holds")]
    [InlineData("-b", "no token for byte 0x62 'b', so text holding it could not be encoded")]
    public void TiktokenRanks_AreDistinctIdsOfTheEmbedding_WithATokenForEveryByte(string change, string problem)
    {
        // A shared rank made export's dictionary throw; rank 2^31 - 1 made the vocabulary's size negative.
        using var dir = new TempDir();
        var lines = Enumerable.Range(0, 256).Where(b => change != "-b" || b != 'b').Select(b => $"{Convert.ToBase64String([(byte)b])} {b}");
        var file = dir.File("t.tiktoken", string.Join("\n", lines) + "\n" + (change == "-b" ? "" : change));
        var ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, tiktokenFile: file));
        Assert.Equal($"cannot read the BPE file {file}: {problem}", ex.Message);
    }

    [Fact]
    public void BrokenBpeFiles_AreRejectedWithTheFileNamed()
    {
        using var dir = new TempDir();
        var (_, merges) = SmallBpe.Gpt2();
        var badVocab = dir.File("vocab.json", "{ this is not json");
        var ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, badVocab, dir.File("merges.txt", merges)));
        Assert.Contains(badVocab, ex.Message);
        var badTiktoken = dir.File("bad.tiktoken", "aGVsbG8= notanumber\n");
        ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, tiktokenFile: badTiktoken));
        Assert.Contains(badTiktoken, ex.Message);
    }

    [Fact]
    public void MissingFilesAndOptions_AreNamed()
    {
        var ex = Assert.Throws<DataException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe, "/nope/vocab.json", "/nope/merges.txt"));
        Assert.Equal(("/nope/vocab.json", "vocab file /nope/vocab.json not found"), (ex.Path, ex.Message));
        var ex2 = Assert.Throws<ConfigException>(() => Tokenizers.CreateBpe(TokenizerKind.Bpe));
        Assert.Equal("tokenizer = bpe: needs a vocab.json and a merges.txt, or a .tiktoken file", Assert.Single(ex2.Problems).ToString());
    }

    [Theory]
    [InlineData(TokenizerKind.Cl100kBase)]
    [InlineData(TokenizerKind.O200kBase)]
    public void Pattern_SplitsLikeTheLibrarysOwn(TokenizerKind encoding)
    {
        // The library keeps its patterns internal; Pattern is a copy, which exporters hand on.
        const string text = "I'LL say it's 1234567 3.14\r\n\r\n  x  \n\n\t y 𝐀𝐁c x𝟏𝟐3 👨‍👩‍👧 日本語 don't\tcafé ==== ends  \n  ";
        var own = TiktokenTokenizer.CreateForEncoding(Choices.Name(encoding)).PreTokenizer!.PreTokenize(text);
        var copy = new Regex(((LibraryTokenizer)Tokenizers.CreateBpe(encoding)).Pattern).Matches(text).Select(m => (m.Index, m.Length));
        Assert.Equal(own, copy);
    }
    [Theory]
    [InlineData(TokenizerKind.Cl100kBase, "letters")]
    [InlineData(TokenizerKind.Cl100kBase, "symbols")]
    [InlineData(TokenizerKind.O200kBase, "letters")]
    [InlineData(TokenizerKind.O200kBase, "symbols")]
    public void LongPiece_IsTiktokensMergeOfItsBytes(TokenizerKind encoding, string kind)
    {
        // One piece of a few thousand bytes (a base64 blob, a line of '=' or of emoji): pieces this long are merged by a
        // different algorithm than short ones (a heap rather than a scan), which must give the same tokens.
        string[] alphabet = kind == "letters"
            ? [.. "abcdefghijklmnopqrstuvwxyzéàüßдфжзий中文字符".Select(c => c.ToString())]   // lower case or uncased: one piece for o200k too
            : [.. "!#$%&()*+,-.:;<=>?@[]^_`{|}~".Select(c => c.ToString()), "😀", "🎉"];
        var random = new Random(5);
        var text = string.Concat(Enumerable.Range(0, 2500).Select(_ => alphabet[random.Next(alphabet.Length)]));
        var t = (LibraryTokenizer)Tokenizers.CreateBpe(encoding);
        Assert.Single(new Regex(t.Pattern).Matches(text));
        var ranks = TiktokenRanks.Of(t.Describe())!.ToDictionary(r => TiktokenReference.Latin1(r.Bytes), r => r.Rank);
        var bytes = System.Text.Encoding.UTF8.GetBytes(text);
        Assert.True(bytes.Length > 3000);
        Assert.Equal(TiktokenReference.Merge(bytes, ranks), t.Encode(text));
    }
}
