using MiniGpt.Data;

namespace MiniGpt.Generation;

/// <summary>
/// Turns ids into text as they arrive without ever emitting half a character. A byte-level BPE token can
/// end inside a multi-byte UTF-8 sequence; decoded alone it gives U+FFFD. So the ids since the last complete
/// piece are decoded together, and held back while their text still ends in an incomplete character.
/// </summary>
public sealed class StreamingDecoder(ITokenizer tokenizer)
{
    readonly List<int> pending = [];

    /// <summary>The text that became complete with this id (possibly empty).</summary>
    public string Push(int id)
    {
        pending.Add(id);
        var text = tokenizer.Decode(pending);
        if (text.Length > 0 && (text[^1] == '\uFFFD' || char.IsHighSurrogate(text[^1])) && pending.Count < 8) return "";
        pending.Clear();
        return text;
    }

    /// <summary>Whatever is still held back, at the end of a sample.</summary>
    public string Flush()
    {
        var text = pending.Count == 0 ? "" : tokenizer.Decode(pending);
        pending.Clear();
        return text;
    }
}
