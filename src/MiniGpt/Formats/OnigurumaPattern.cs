using System.Text;

namespace MiniGpt.Formats;

/// <summary>
/// A .NET split pattern rewritten for Oniguruma, the regex engine of Hugging Face's tokenizers, so that both split
/// text the same way.
/// </summary>
/// <remarks>
/// The syntax is shared; the difference is what one character is. .NET matches UTF-16 code units, so a character
/// beyond U+FFFF is two surrogates, which no Unicode property (\p{L}, \p{N}, \p{M}, …) matches, and which a negated
/// class (<c>[^\s\p{L}\p{N}]</c>) matches one at a time. Oniguruma matches code points, so a letter such as 𝐀 or 𠀀 is
/// a letter there. The rewrite keeps .NET's reading:
/// <list type="bullet">
/// <item>a property, alone or in a positive class, matches only up to U+FFFF;</item>
/// <item>a negated class under + or * also takes characters beyond U+FFFF, as .NET takes both their surrogates;</item>
/// <item>a negated class taken once (the optional first character of a word) takes none of them: in .NET it would
/// take one surrogate, and the word that must follow cannot start with the other.</item>
/// </list>
/// <c>$</c> differs too (see <see cref="EndOfText"/>). What remains is Unicode's version: a character newer than
/// Oniguruma's tables is no letter there.
/// </remarks>
public static class OnigurumaPattern
{
    const string Astral = @"\x{10000}-\x{10FFFF}";
    const string BelowAstral = @"&&[\x{0}-\x{FFFF}]";
    // .NET's $ (without Multiline): the end, or before a newline that ends the text. Oniguruma's $ is the end of any
    // line. Lookaheads say it the same way in every engine, JavaScript's included.
    const string EndOfText = @"(?=\n?(?![\s\S]))";

    /// <summary>The pattern for Oniguruma; it assumes no nested classes, as the tokenizers' patterns have none.</summary>
    public static string FromDotNet(string pattern)
    {
        var sb = new StringBuilder(pattern.Length * 2);
        for (int i = 0; i < pattern.Length;)
        {
            if (pattern[i] == '[')
            {
                int end = ClassEnd(pattern, i);
                var body = pattern[(i + 1)..end];
                bool repeated = end + 1 < pattern.Length && pattern[end + 1] is '+' or '*';
                sb.Append(body.StartsWith('^')
                    ? repeated ? $"[{Astral}[{body}]]" : $"[{body}{Astral}]"
                    : body.Contains(@"\p") ? $"[{body}{BelowAstral}]" : $"[{body}]");
                i = end + 1;
            }
            else if (pattern[i] == '\\' && i + 1 < pattern.Length && pattern[i + 1] == 'p')
            {
                int end = pattern.IndexOf('}', i) + 1;
                sb.Append($"[{pattern[i..end]}{BelowAstral}]");
                i = end;
            }
            else if (pattern[i] == '$')
            {
                sb.Append(EndOfText);
                i++;
            }
            else
            {
                // An escape is copied whole, so that "\[" opens no class.
                int length = pattern[i] == '\\' ? 2 : 1;
                sb.Append(pattern, i, length);
                i += length;
            }
        }
        return sb.ToString();
    }

    /// <summary>The index of the ']' closing the class opened at <paramref name="start"/> (the patterns nest none).</summary>
    static int ClassEnd(string pattern, int start)
    {
        for (int i = start + 1; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\') i++;
            else if (pattern[i] == ']') return i;
        }
        throw new ArgumentException($"unclosed class in {pattern}");
    }
}
