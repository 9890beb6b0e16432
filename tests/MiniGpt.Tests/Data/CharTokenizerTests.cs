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
    public void EncodeIntoAList_AppendsOneIdPerScalarValue()
    {
        var t = CharTokenizer.FromDescription(SmallBpe.MultiByteText);
        var ids = new List<int> { -3 };
        var text = "xx" + SmallBpe.MultiByteText + "yy";
        ((ITokenizer)t).Encode(text.AsSpan(2, SmallBpe.MultiByteText.Length), ids);
        Assert.Equal([-3, .. SmallBpe.MultiByteText.EnumerateRunes().Select(r => t.IdOf(r.Value))], ids);
        Assert.Throws<UnknownCharactersException>(() => ((ITokenizer)t).Encode("\u2603".AsSpan(), ids));
        // Without a copy of the text or a list of its own: a corpus of documents is encoded so, each document once.
        var many = string.Concat(Enumerable.Repeat(SmallBpe.MultiByteText, 200));
        var into = new List<int>(2 * many.Length);
        ((ITokenizer)t).Encode(many.AsSpan(), into);
        into.Clear();
        long before = GC.GetAllocatedBytesForCurrentThread();
        ((ITokenizer)t).Encode(many.AsSpan(), into);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void SurrogatePairs_AreOneCharacter_AndLoneSurrogatesTheReplacementCharacter_AsEnumerateRunesHasThem()
    {
        var t = CharTokenizer.FromDescription("ab😀\uFFFD");
        foreach (var text in new[] { "a😀b", "😀😀", "\uDE00ab", "ab\uD83D", "a\uD83Db", "\uD83D\uD83D😀", "😀\uDE00\uDE00a" })
        {
            var ids = new List<int> { 7 };
            ((ITokenizer)t).Encode(text.AsSpan(), ids);
            Assert.Equal([7, .. text.EnumerateRunes().Select(r => t.IdOf(r.Value))], ids);
            Assert.DoesNotContain(-1, ids);
        }
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

    [Fact]
    public void ManyUnknownCharacters_AreListedUpToTwenty_AndCounted()
    {
        // A binary file as a prompt held 50,000 characters the vocabulary lacks: its error was a line of 445 KB.
        var t = CharTokenizer.FromDescription("ab");
        var ex = Assert.Throws<UnknownCharactersException>(() => t.Encode(string.Concat(Enumerable.Range(0x4E00, 25).Select(c => (char)c)) + "a"));
        Assert.Equal(25, ex.Characters.Count);
        Assert.Equal("characters not in the vocabulary: " + string.Join(" ", Enumerable.Range(0x4E00, 20).Select(c => $"'{(char)c}'")) + " and 5 more", ex.Message);
    }
}
