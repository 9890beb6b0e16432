using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class CharTokenizerTests
{
    [Fact]
    public void RoundTrip_MultiByteText()
    {
        var t = CharTokenizer.FromDescription(SmallBpe.MultiByteText);
        var ids = t.Encode(SmallBpe.MultiByteText);
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(ids));
        // One id per scalar value: an emoji is one token, not two UTF-16 surrogates.
        Assert.Equal(SmallBpe.MultiByteText.EnumerateRunes().Count(), ids.Count);
    }

    [Fact]
    public void Vocabulary_IsSortedByScalarValue_AndStable()
    {
        var a = CharTokenizer.FromDescription("ba😀c日a");
        var b = CharTokenizer.FromDescription("日😀cab");
        Assert.Equal("abc日😀", a.Describe().Chars);
        Assert.Equal(a.Describe().Chars, b.Describe().Chars);
        Assert.Equal([0, 1, 2, 3, 4], a.Encode("abc日😀"));
    }

    [Fact]
    public void DescriptionRestoresTheSameTokenizer()
    {
        var t = CharTokenizer.FromDescription(SmallBpe.MultiByteText);
        var restored = Tokenizers.FromDescription(t.Describe(), "test");
        Assert.Equal(t.Encode(SmallBpe.MultiByteText), restored.Encode(SmallBpe.MultiByteText));
        Assert.Equal(t.VocabSize, restored.VocabSize);
    }

    [Fact]
    public void UnknownCharacters_AreListed()
    {
        var t = CharTokenizer.FromDescription("abc");
        var ex = Assert.Throws<UnknownCharactersException>(() => t.Encode("abxyx😀"));
        Assert.Equal(["x", "y", "😀"], ex.Characters);
        Assert.Contains("'x'", ex.Message);
    }
}
