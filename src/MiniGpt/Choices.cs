using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MiniGpt;

/// <summary>
/// The names of an enum's members as configs, files and the command line spell them: a member's
/// [JsonStringEnumMemberName] if it has one, else its name in lower case. <see cref="JsonConverter"/> writes
/// and reads JSON (meta.json, checkpoints) with the same names.
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

    /// <summary>Enums in JSON as their names; a number or an unknown name is a <see cref="JsonException"/>.</summary>
    public static readonly JsonConverterFactory JsonConverter = new ChoiceConverterFactory();

    sealed class ChoiceConverterFactory : JsonConverterFactory
    {
        public override bool CanConvert(Type t) => t.IsEnum;

        public override System.Text.Json.Serialization.JsonConverter CreateConverter(Type t, JsonSerializerOptions options)
            => (System.Text.Json.Serialization.JsonConverter)Activator.CreateInstance(typeof(ChoiceConverter<>).MakeGenericType(t))!;
    }

    sealed class ChoiceConverter<T> : JsonConverter<T> where T : struct, Enum
    {
        public override T Read(ref Utf8JsonReader reader, Type t, JsonSerializerOptions options)
            => reader.TokenType == JsonTokenType.String && TryParse<T>(reader.GetString()!, out var v) ? v
                : throw new JsonException($"expected one of {List(typeof(T))}");

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
    }
}
