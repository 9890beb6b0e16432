using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class LibraryTokenizerTests
{
    [Theory]
    [InlineData("cl100k_base", 100277)]
    [InlineData("o200k_base", 200019)]
    public void Tiktoken_RoundTripsMultiByteText(string encoding, int vocabSize)
    {
        var t = Tokenizers.CreateBpe(encoding);
        Assert.Equal(vocabSize, t.VocabSize);
        var ids = t.Encode(SmallBpe.MultiByteText);
        Assert.True(ids.Count < SmallBpe.MultiByteText.Length, "BPE should merge characters");
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(ids));
        Assert.Equal(ids, Tokenizers.FromDescription(t.Describe()).Encode(SmallBpe.MultiByteText));
    }

    [Fact]
    public void Gpt2Bpe_FromVocabAndMerges_MergesAndRoundTrips()
    {
        using var dir = new TempDir();
        var (vocab, merges) = SmallBpe.Gpt2();
        var t = Tokenizers.CreateBpe("bpe", dir.File("vocab.json", vocab), dir.File("merges.txt", merges));
        Assert.Equal(256 + 5 + 1, t.VocabSize);
        Assert.Equal([259, 260], t.Encode("hello w").Take(2));   // "hello", "Ġw"
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(t.Encode(SmallBpe.MultiByteText)));
        var restored = Tokenizers.FromDescription(t.Describe());
        Assert.Equal(t.Encode(SmallBpe.MultiByteText), restored.Encode(SmallBpe.MultiByteText));
    }

    [Fact]
    public void TiktokenFile_MergesAndRoundTrips()
    {
        using var dir = new TempDir();
        var t = Tokenizers.CreateBpe("bpe", tiktokenFile: dir.File("tiny.tiktoken", SmallBpe.Tiktoken()));
        Assert.Equal(260, t.VocabSize);
        Assert.Equal([259], t.Encode("hello"));
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(t.Encode(SmallBpe.MultiByteText)));
    }

    [Fact]
    public void BrokenBpeFiles_AreRejectedWithTheFileNamed()
    {
        using var dir = new TempDir();
        var (_, merges) = SmallBpe.Gpt2();
        var badVocab = dir.File("vocab.json", "{ this is not json");
        var ex = Assert.Throws<InvalidDataException>(() => Tokenizers.CreateBpe("bpe", badVocab, dir.File("merges.txt", merges)));
        Assert.Contains(badVocab, ex.Message);
        var badTiktoken = dir.File("bad.tiktoken", "aGVsbG8= notanumber\n");
        ex = Assert.Throws<InvalidDataException>(() => Tokenizers.CreateBpe("bpe", tiktokenFile: badTiktoken));
        Assert.Contains(badTiktoken, ex.Message);
    }

    [Fact]
    public void MissingFilesAndOptions_AreNamed()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => Tokenizers.CreateBpe("bpe", "/nope/vocab.json", "/nope/merges.txt"));
        Assert.Contains("/nope/vocab.json", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => Tokenizers.CreateBpe("bpe"));
        Assert.Contains("--vocab", ex2.Message);
        var ex3 = Assert.Throws<ArgumentException>(() => Tokenizers.CreateBpe("gpt5"));
        Assert.Contains("unknown tokenizer 'gpt5'", ex3.Message);
    }
}
