using MiniGpt.Data;
using MiniGpt.Generation;
using MiniGpt.Tests.TestSupport;

namespace MiniGpt.Tests.Generation;

public class StreamingDecoderTests
{
    [Theory]
    [InlineData(TokenizerKind.Cl100kBase)]
    [InlineData(TokenizerKind.O200kBase)]
    public void TokenByToken_MultiByteText_ComesOutExactly_NeverHalfACharacter(TokenizerKind encoding)
    {
        var tok = Tokenizers.CreateBpe(encoding);
        var text = "日本語のテキスト 😀🎉 naïve café " + SmallBpe.MultiByteText;
        var ids = tok.Encode(text);
        // The test means something only if some token ends inside a character.
        Assert.Contains(ids, id => tok.Decode([id]).Contains('\uFFFD'));
        var decoder = new StreamingDecoder(tok);
        var pieces = ids.Select(decoder.Push).Append(decoder.Flush()).ToList();
        Assert.Equal(text, string.Concat(pieces));
        Assert.DoesNotContain(pieces, p => p.Contains('\uFFFD'));
    }

    [Fact]
    public void CharTokenizer_StreamsEveryCharacterAtOnce()
    {
        var tok = CharTokenizer.FromDescription("ab😀");
        var decoder = new StreamingDecoder(tok);
        Assert.Equal(["a", "😀", "b"], tok.Encode("a😀b").Select(decoder.Push));
    }
}
