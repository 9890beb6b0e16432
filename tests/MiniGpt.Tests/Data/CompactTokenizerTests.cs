using MiniGpt.Data;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Data;

public class CompactTokenizerTests
{
    [Fact]
    public void Compact_RoundTripsTheCorpus_WithDenseIds()
    {
        var inner = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var used = inner.Encode(SmallBpe.MultiByteText);
        var t = new CompactTokenizer(inner, used);
        var ids = t.Encode(SmallBpe.MultiByteText);
        Assert.Equal(used.Distinct().Count() + 1, t.VocabSize);
        Assert.All(ids, id => Assert.InRange(id, 0, t.VocabSize - 2));   // nothing unknown in the corpus itself
        Assert.Equal(SmallBpe.MultiByteText, t.Decode(ids));
        var restored = Tokenizers.FromDescription(t.Describe(), "test");
        Assert.Equal(ids, restored.Encode(SmallBpe.MultiByteText));
        Assert.Equal(t.VocabSize, restored.VocabSize);
    }

    [Fact]
    public void TextOutsideTheCorpus_MapsToUnknown_AndDecodesAsReplacementCharacter()
    {
        var inner = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var t = new CompactTokenizer(inner, inner.Encode("hello world"));
        var ids = t.Encode("hello zebra");
        Assert.Contains(t.UnknownId, ids);
        Assert.StartsWith("hello", t.Decode(ids));
        Assert.Contains('\uFFFD', t.Decode(ids));
    }

    [Fact]
    public void EncodeIntoAList_AppendsTheCompactIds_UnknownIncluded()
    {
        var inner = Tokenizers.CreateBpe(TokenizerKind.Cl100kBase);
        var t = new CompactTokenizer(inner, inner.Encode("hello world"));
        var ids = new List<int> { 123_456 };   // what the list held stays as it was, unmapped
        t.Encode("hello zebra world".AsSpan(), ids);
        Assert.Equal([123_456, .. t.Encode("hello zebra world")], ids);
        Assert.Equal(inner.Encode("hello zebra world").Select(t.Map), ids.Skip(1));
        Assert.Contains(t.UnknownId, ids);
    }

    [Theory]
    [InlineData(new[] { 11, 264, 100_277 })]   // past cl100k_base's last id
    [InlineData(new[] { -1, 264 })]
    [InlineData(new[] { 264, 11 })]            // the order ids are described in
    public void ADescriptionWithCompactIdsOutsideTheVocabulary_IsRefused(int[] ids)
    {
        var ex = Assert.Throws<DataException>(() => Tokenizers.FromDescription(new TokenizerDescription(TokenizerKind.Cl100kBase, CompactIds: ids), "meta.json"));
        Assert.StartsWith("meta.json: compact id ", ex.Message);
        Assert.Equal("meta.json", ex.Path);
    }
}
