using System.Text;
using System.Text.Json;

namespace MiniGpt.Tests.TestSupport;

/// <summary>Tiny BPE vocabularies made here, covering every byte so any text round-trips.</summary>
public static class SmallBpe
{
    /// <summary>GPT-2's byte → printable character table (openai/gpt-2 encoder.py bytes_to_unicode).</summary>
    static char[] ByteChars()
    {
        var bs = Enumerable.Range('!', '~' - '!' + 1).Concat(Enumerable.Range('¡', '¬' - '¡' + 1)).Concat(Enumerable.Range('®', 'ÿ' - '®' + 1)).ToList();
        var map = new char[256];
        foreach (var b in bs) map[b] = (char)b;
        int n = 0;
        for (int b = 0; b < 256; b++) if (!bs.Contains(b)) map[b] = (char)(256 + n++);
        return map;
    }

    /// <summary>(vocab.json, merges.txt) with all 256 bytes plus merges for "he", "ll", "hell", "hello", "Ġw", and &lt;|endoftext|&gt;.</summary>
    /// <param name="more">Further merges, after those, e.g. "Ċ Ċ" for a "\n\n" token.</param>
    public static (string VocabJson, string Merges) Gpt2(params string[] more)
    {
        var chars = ByteChars();
        var vocab = new Dictionary<string, int>();
        for (int b = 0; b < 256; b++) vocab[chars[b].ToString()] = b;
        string[] merges = ["h e", "l l", "he ll", "hell o", "Ġ w", .. more];
        foreach (var m in merges) vocab[m.Replace(" ", "")] = vocab.Count;
        vocab["<|endoftext|>"] = vocab.Count;   // GPT-2's vocab.json ends with it
        return (JsonSerializer.Serialize(vocab), "#version: 0.2\n" + string.Join("\n", merges) + "\n");
    }

    /// <summary>A .tiktoken rank file: all 256 bytes, then "he", "ll", "llo", "hello".</summary>
    /// <param name="extraTokens">further ranks, "tok0", "tok1", …, for a file of some size</param>
    public static string Tiktoken(int extraTokens = 0)
    {
        var lines = Enumerable.Range(0, 256).Select(b => $"{Convert.ToBase64String([(byte)b])} {b}").ToList();
        string[] merged = ["he", "ll", "llo", "hello", .. Enumerable.Range(0, extraTokens).Select(i => $"tok{i}")];
        for (int i = 0; i < merged.Length; i++) lines.Add($"{Convert.ToBase64String(Encoding.UTF8.GetBytes(merged[i]))} {256 + i}");
        return string.Join("\n", lines) + "\n";
    }

    public const string MultiByteText = "Héllo wörld, naïve café! 日本語のテキスト 😀🎉 end\nsecond line";
}
