using System.Text;
using MiniGpt.Data;

namespace MiniGpt.Tests.Data;

public class Utf8RunesTests
{
    // ASCII, 2-, 3- and 4-byte sequences, then bytes that are not UTF-8: a lone continuation byte, a truncated
    // 3-byte sequence, an overlong encoding and 0xFF.
    static readonly byte[] Mixed = [.. Encoding.UTF8.GetBytes("ab é € 𝄞 z"), 0x80, (byte)'q', 0xE2, 0x82, (byte)'r', 0xC0, 0xAF, 0xFF, (byte)'s'];

    static (List<int> Runes, long Counted) Both(byte[] bytes, int chunk, bool replace)
    {
        var decoder = new Utf8Runes(replace);
        var counter = new Utf8Runes(replace);
        var runes = new List<int>();
        long counted = 0;
        for (int at = 0; at < bytes.Length; at += chunk)
        {
            var span = bytes.AsSpan(at, Math.Min(chunk, bytes.Length - at));
            decoder.Decode(span, final: false, runes);
            counted += counter.Count(span, final: false);
        }
        decoder.Decode([], final: true, runes);
        counted += counter.Count([], final: true);
        return (runes, counted);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(64)]
    public void Count_IsHowManyValuesDecodeGives_WhereverTheChunksCutTheSequences(int chunk)
    {
        var (runes, counted) = Both(Mixed, chunk, replace: true);
        var expected = Encoding.UTF8.GetString(Mixed).EnumerateRunes().Select(r => r.Value).ToList();   // .NET's replacement decoder
        Assert.Equal(expected, runes);
        Assert.Equal(expected.Count, counted);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(64)]
    public void Count_RejectsInvalidBytes_AtTheOffsetDecodeGives(int chunk)
    {
        int firstBad = Array.IndexOf(Mixed, (byte)0x80);
        var decoding = Assert.Throws<InvalidUtf8Exception>(() => Both(Mixed[..(firstBad + 1)], chunk, replace: false));
        var counter = new Utf8Runes(replaceInvalid: false);
        var counting = Assert.Throws<InvalidUtf8Exception>(() =>
        {
            for (int at = 0; at < Mixed.Length; at += chunk) counter.Count(Mixed.AsSpan(at, Math.Min(chunk, Mixed.Length - at)), final: false);
        });
        Assert.Equal(firstBad, decoding.Offset);
        Assert.Equal(firstBad, counting.Offset);
    }

    [Fact]
    public void Count_RejectsASequenceCutOffByTheEnd()
    {
        var counter = new Utf8Runes(replaceInvalid: false);
        Assert.Equal(2, counter.Count([(byte)'a', (byte)'b', 0xE2, 0x82], final: false));   // the last two wait for more
        var ex = Assert.Throws<InvalidUtf8Exception>(() => counter.Count([], final: true));
        Assert.Equal(2, ex.Offset);
    }
}
