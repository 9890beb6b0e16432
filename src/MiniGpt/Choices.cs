using System.Reflection;
using System.Text.Json.Serialization;

namespace MiniGpt;

/// <summary>
/// The names of an enum's members as configs, files and the command line spell them: a member's
/// [JsonStringEnumMemberName] if it has one, else its name in lower case. JSON written with
/// <see cref="JsonStringEnumConverter"/> uses the same names.
/// </summary>
public static class Choices
{
    public static string Name(Enum value)
    {
        var field = value.GetType().GetField(value.ToString(), BindingFlags.Public | BindingFlags.Static);
        return field?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? value.ToString().ToLowerInvariant();
    }

    public static IReadOnlyList<string> Names(Type enumType) => Enum.GetValues(enumType).Cast<Enum>().Select(Name).ToList();

    /// <summary>"a, b or c", for messages.</summary>
    public static string List(Type enumType)
    {
        var names = Names(enumType);
        return names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];
    }

    /// <summary>The member named <paramref name="text"/> (case-insensitive), or false.</summary>
    public static bool TryParse(Type enumType, string text, out Enum value)
    {
        foreach (Enum v in Enum.GetValues(enumType))
            if (string.Equals(Name(v), text, StringComparison.OrdinalIgnoreCase)) { value = v; return true; }
        value = null!;
        return false;
    }

    public static bool TryParse<T>(string text, out T value) where T : struct, Enum
    {
        bool ok = TryParse(typeof(T), text, out var v);
        value = ok ? (T)v : default;
        return ok;
    }
}
