using System.Text;
using System.Text.Json;
using MiniGpt.Data;

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

    /// <summary>The BPE tokenizers a corpus can be prepared with, by name, for theories over all of them.</summary>
    public static readonly TheoryData<string> Kinds = ["cl100k_base", "o200k_base", "gpt2 files", "tiktoken file"];

    /// <summary>
    /// One of <see cref="Kinds"/>: its kind and, for the two read from files, the small files written in
    /// <paramref name="dir"/> (GPT-2's vocab.json and merges.txt, or a .tiktoken rank file).
    /// </summary>
    public static (TokenizerKind Kind, string? Vocab, string? Merges, string? Tiktoken) Files(string which, TempDir dir)
    {
        var (vocab, merges) = Gpt2();
        return which switch
        {
            "cl100k_base" => (TokenizerKind.Cl100kBase, null, null, null),
            "o200k_base" => (TokenizerKind.O200kBase, null, null, null),
            "gpt2 files" => (TokenizerKind.Bpe, dir.File("vocab.json", vocab), dir.File("merges.txt", merges), null),
            _ => (TokenizerKind.Bpe, null, null, dir.File("t.tiktoken", Tiktoken())),
        };
    }

    /// <summary>One of <see cref="Kinds"/>, built from <see cref="Files"/>.</summary>
    public static ITokenizer Tokenizer(string which, TempDir dir)
    {
        var f = Files(which, dir);
        return Tokenizers.CreateBpe(f.Kind, f.Vocab, f.Merges, f.Tiktoken);
    }

    public const string MultiByteText = "Héllo wörld, naïve café! 日本語のテキスト 😀🎉 end\nsecond line";
}
