import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isValidationError } from '../errors.js';
import { compileTemplate, validateTemplate } from './template.js';

describe('compileTemplate', () => {
  it('inserts variables, with spaces inside the braces allowed', () => {
    const render = compileTemplate('Hi {{firstName}}, {{ code }} is yours. {{ firstName }}!');
    expect(render({ firstName: 'Maria', code: 'SALE10' })).toBe(
      'Hi Maria, SALE10 is yours. Maria!',
    );
    expect(render.variables).toEqual(['firstName', 'code']);
  });

  it('uses the default for an absent, null or blank variable', () => {
    const render = compileTemplate('Hi {{ firstName | dear friend }}!');
    expect(render({})).toBe('Hi dear friend!');
    expect(render()).toBe('Hi dear friend!');
    expect(render({ firstName: null })).toBe('Hi dear friend!');
    expect(render({ firstName: '  ' })).toBe('Hi dear friend!');
    expect(render({ firstName: ' Nikos ' })).toBe('Hi Nikos!');
  });

  it('renders a missing variable without default as nothing', () => {
    expect(compileTemplate('Hi {{firstName}}!')({})).toBe('Hi !');
  });

  it('reads only the recipient’s own variables', () => {
    expect(compileTemplate('{{constructor|x}} {{toString|y}}')({})).toBe('x y');
  });

  it('does not render templates found in variable values', () => {
    expect(compileTemplate('Hi {{name}}')({ name: '{{secret}}' })).toBe('Hi {{secret}}');
  });

  it('keeps single braces, which are GSM-7 text', () => {
    expect(compileTemplate('{a} [b] {{x}}')({ x: '1' })).toBe('{a} [b] 1');
  });

  it('throws a ValidationError naming the field for a malformed template', () => {
    let thrown: unknown;
    try {
      compileTemplate('Hi {{firstName', ['campaign', 'text']);
    } catch (error) {
      thrown = error;
    }
    expect(isValidationError(thrown) && thrown.issues).toEqual([
      { path: ['campaign', 'text'], message: '"{{" is never closed at character 4' },
    ]);
  });

  it('renders what it was given when there is nothing to fill', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        fc.pre(!text.includes('{{') && !text.includes('}}'));
        expect(compileTemplate(text)({ any: 'x' })).toBe(text);
      }),
      { numRuns: 200 },
    );
  });
});

describe('validateTemplate', () => {
  it.each([
    ['Hi {{name', '"{{" is never closed at character 4'],
    ['Hi name}}', '"}}" without an opening "{{" at character 8'],
    ['Hi {{}}', 'empty variable "{{}}" at character 4'],
    ['Hi {{ |x}}', 'empty variable "{{ |x}}" at character 4'],
    ['Hi {{first name}}', 'invalid variable name "first name" at character 4'],
    ['Hi {{a {{b}}', '"{{" is not closed before the next "{{" at character 4'],
  ])('reports %j', (text, message) => {
    expect(validateTemplate(text)).toEqual([message]);
  });

  it('accepts well-formed templates', () => {
    expect(validateTemplate('Hi {{ first_name | friend }}, code {{promo.code}} {x}')).toEqual([]);
  });

  it('reports every problem, not only the first', () => {
    expect(validateTemplate('{{}} and }} and {{x')).toHaveLength(3);
  });
});
