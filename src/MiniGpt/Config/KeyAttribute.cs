namespace MiniGpt.Config;

/// <summary>Where a key is listed in help.</summary>
public enum KeyGroup { Io, Data, Model, Optimizer, Schedule, System }

/// <summary>
/// Declares a property of a config record as a config key. The key's name is the property's name in
/// snake_case (nanoGPT's: NLayer is n_layer), its type the property's type, its default the property's
/// initial value; this attribute adds the description and the rule. Binding, validation, help and the
/// checks of a stored config all come from these declarations (<see cref="ConfigSchema{T}"/>).
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class KeyAttribute(string description) : Attribute
{
    /// <summary>One line for help.</summary>
    public string Description { get; } = description;

    public KeyGroup Group { get; set; }

    /// <summary>The smallest allowed value of a number (NaN: none); exclusive if <see cref="MinExclusive"/>.</summary>
    public double Min { get; set; } = double.NaN;

    public bool MinExclusive { get; set; }

    /// <summary>The largest allowed value of a number (NaN: none); exclusive if <see cref="MaxExclusive"/>.</summary>
    public double Max { get; set; } = double.NaN;

    public bool MaxExclusive { get; set; }

    /// <summary>A text that may not be empty or white space.</summary>
    public bool NotEmpty { get; set; }

    /// <summary>Fixed by the trained weights: a checkpoint's value must equal the config's to resume from it.</summary>
    public bool Architecture { get; set; }
}
