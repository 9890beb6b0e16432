using System.Globalization;

namespace MiniGpt;

/// <summary>
/// Input a user can fix: a bad setting, file or text. Each subclass carries what went wrong (key, value,
/// file); its message names them in the library's terms (config keys, paths) and never in command-line
/// syntax, which only the CLI knows. Any other exception out of the library is a bug.
/// </summary>
public abstract class MiniGptException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One setting (a config key, or an option of a library call) whose value cannot be used.</summary>
/// <param name="Key">The setting's name in snake_case; null when the problem is with the whole source (not JSON).</param>
/// <param name="Value">The value as given, ready to print (strings quoted); null when there is none to show.</param>
/// <param name="Rule">What is wrong, or what the value must be.</param>
/// <param name="Origin">The file the value came from (a config file, a checkpoint); null for a value given directly.</param>
public sealed record ConfigProblem(string? Key, string? Value, string Rule, string? Origin = null)
{
    /// <summary>The problem in config terms: "origin: key = value: rule".</summary>
    public override string ToString() => (Origin is null ? "" : Origin + ": ") + Setting;

    /// <summary>The problem without its origin.</summary>
    public string Setting => Key is null ? Rule : Value is null ? $"{Key}: {Rule}" : $"{Key} = {Value}: {Rule}";

    /// <summary>A value as configs spell it: enums by name, numbers in invariant culture, null as "none".</summary>
    public static string Format(object? value) => value switch
    {
        null => "none",
        Enum e => Choices.Name(e),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>A value as problems show it: as configs spell it, with strings quoted so that an empty one shows.</summary>
    /// <summary>
    /// A value as a message quotes it: a text in quotes, its control characters escaped (a NUL would end the line a
    /// terminal shows) and cut after <see cref="ShownChars"/> characters (a config can hold a key of megabytes).
    /// </summary>
    public static string Show(object? value) => value is string s ? Cut(s, "'") : Format(value);

    /// <summary>A name (a key) as a message gives it: as <see cref="Show"/> does a text, without the quotes.</summary>
    public static string Name(string s) => Cut(s, "");

    static string Cut(string s, string quote)
        => s.Length > ShownChars ? $"{quote}{Escaped(s[..ShownChars])}{quote}… ({s.Length:N0} characters)" : $"{quote}{Escaped(s)}{quote}";

    public const int ShownChars = 200;

    static string Escaped(string s) => s.Any(char.IsControl) ? string.Concat(s.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString())) : s;
}

/// <summary>Settings that cannot be used, each problem naming its key, its value and where it came from.</summary>
public sealed class ConfigException(IReadOnlyList<ConfigProblem> problems)
    : MiniGptException(string.Join("; ", problems))
{
    public IReadOnlyList<ConfigProblem> Problems { get; } = problems;

    public ConfigException(string key, object? value, string rule) : this([new ConfigProblem(key, ConfigProblem.Show(value), rule)]) { }
}

/// <summary>A file or folder that cannot be used: missing, damaged, of another format, or inconsistent with the rest.</summary>
/// <param name="message">The whole message; it names <paramref name="path"/>.</param>
public class DataException(string path, string message, Exception? inner = null) : MiniGptException(message, inner)
{
    public string Path { get; } = path;
}
