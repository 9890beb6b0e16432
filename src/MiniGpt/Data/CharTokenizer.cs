using System.Runtime.InteropServices;
using System.Text;

namespace MiniGpt.Data;

/// <summary>
/// nanoGPT's shakespeare_char tokenizer: the vocabulary is the sorted set of Unicode scalar values (not
/// UTF-16 units) in the corpus, and a character's id is its rank in that set.
/// </summary>
public sealed class CharTokenizer : ITokenizer
{
    readonly int[] chars;                          // id → scalar value
    readonly Dictionary<int, int> ids = new();     // scalar value → id
    readonly int[] asciiIds = Enumerable.Repeat(-1, 128).ToArray();

    public CharTokenizer(IEnumerable<int> scalarValues)
    {
        chars = scalarValues.Distinct().Order().ToArray();
        if (chars.Length == 0) throw new ArgumentException("a char vocabulary needs at least one character");
        for (int i = 0; i < chars.Length; i++)
        {
            ids[chars[i]] = i;
            if (chars[i] < 128) asciiIds[chars[i]] = i;
        }
    }

    public static CharTokenizer FromDescription(string chars) => new(chars.EnumerateRunes().Select(r => r.Value));

    public TokenizerKind Kind => TokenizerKind.Char;
    public int VocabSize => chars.Length;

    /// <summary>The id of a scalar value, or −1 if it is not in the vocabulary.</summary>
    public int IdOf(int scalar) => scalar < 128 ? asciiIds[scalar] : ids.GetValueOrDefault(scalar, -1);

    public IReadOnlyList<int> Encode(string text)
    {
        var result = new List<int>(text.Length);
        Encode(text, result);
        return result;
    }

    /// <summary>
    /// Appends the ids of <paramref name="text"/>: a corpus of documents is encoded so, without a copy of each. Scalar
    /// values as <see cref="string.EnumerateRunes"/> gives them (a lone surrogate is U+FFFD), written into the list's
    /// own span: an enumerator and an Add per character took most of a char prepare of JSON Lines (docs/benchmarks.md).
    /// </summary>
    public void Encode(ReadOnlySpan<char> text, List<int> result)
    {
        List<string>? unknown = null;
        int start = result.Count, n = 0;
        CollectionsMarshal.SetCount(result, start + text.Length);   // a character gives at most one id
        var ids = CollectionsMarshal.AsSpan(result)[start..];
        for (int i = 0; i < text.Length; i++)
        {
            int scalar = text[i];
            if (char.IsSurrogate(text[i]))
            {
                Rune.DecodeFromUtf16(text[i..], out var rune, out int used);
                (scalar, i) = (rune.Value, i + used - 1);
            }
            int id = IdOf(scalar);
            if (id < 0) (unknown ??= []).Add(new Rune(scalar).ToString());
            ids[n++] = id;
        }
        CollectionsMarshal.SetCount(result, start + n);
        if (unknown is not null)
            throw new UnknownCharactersException(unknown.Distinct().ToList());
    }

    public string Decode(IEnumerable<int> ids)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)chars.Length) throw new ArgumentOutOfRangeException(nameof(ids), $"id {id} is outside the vocabulary of {chars.Length}");
            sb.Append(new Rune(chars[id]).ToString());
        }
        return sb.ToString();
    }

    public TokenizerDescription Describe()
        => new(TokenizerKind.Char, Chars: string.Concat(chars.Select(c => new Rune(c).ToString())));
}

/// <summary>Text holds characters a char vocabulary lacks; the message lists them.</summary>
public sealed class UnknownCharactersException(IReadOnlyList<string> characters)
    : MiniGptException($"characters not in the vocabulary: {string.Join(" ", characters.Take(Listed).Select(Show))}{(characters.Count > Listed ? $" and {characters.Count - Listed:N0} more" : "")}")
{
    public IReadOnlyList<string> Characters { get; } = characters;

    static string Show(string c) => c.Length == 1 && char.IsControl(c[0]) ? $"U+{(int)c[0]:X4}" : $"'{c}'";

    /// <summary>The most characters the message lists (a binary file held 50,000 others, a line of 445 KB).</summary>
    public const int Listed = 20;
}
