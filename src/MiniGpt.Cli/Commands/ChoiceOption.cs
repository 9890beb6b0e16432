using System.CommandLine;
using System.CommandLine.Parsing;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// An option whose value is one of an enum's members, spelled as configs spell them (<see cref="Choices"/>).
/// The default is applied here rather than by System.CommandLine, whose help would print it as the member's
/// C# name.
/// </summary>
public sealed class ChoiceOption<T> where T : struct, Enum
{
    readonly T? fallback;

    /// <param name="fallback">The value when the option is not given; null leaves it unset.</param>
    public ChoiceOption(string name, string description, T? fallback = null)
    {
        this.fallback = fallback;
        Option = new Option<T?>(name)
        {
            Description = description + (fallback is { } f ? $" (default {Choices.Name(f)})" : ""),
            HelpName = string.Join("|", Choices.Names(typeof(T))),
            CustomParser = Parse,
        };
    }

    public Option<T?> Option { get; }

    /// <summary>The value given, or the default.</summary>
    public T Get(ParseResult r) => r.GetValue(Option) ?? fallback ?? throw new InvalidOperationException($"{Option.Name} has no default");

    /// <summary>The value given, or null.</summary>
    public T? Find(ParseResult r) => r.GetValue(Option);

    static T? Parse(ArgumentResult r)
    {
        var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
        if (Choices.TryParse<T>(text, out var value)) return value;
        var name = r.Parent is OptionResult o ? o.Option.Name : "value";
        r.AddError($"{name} '{text}': must be one of {Choices.List(typeof(T))}");
        return null;
    }
}
