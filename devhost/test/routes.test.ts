import { compareRoutePrecedence, parseRoute, RouteTemplateError } from '../src/host/routes';

const segments = (path: string): string[] => path.split('/').filter(Boolean);

describe('route templates', () => {
  it('matches literals case-insensitively and captures parameters', () => {
    expect(parseRoute('api/patient/{patientId}/tests/{testId}').match(segments('API/Patient/p1/tests/t2'))).toEqual({
      patientId: 'p1',
      testId: 't2',
    });
    expect(parseRoute('api/patient/{patientId}').match(segments('api/patient'))).toBeUndefined();
    expect(parseRoute('api/patient/{patientId}').match(segments('api/patient/p1/extra'))).toBeUndefined();
  });

  it('applies constraints, several per parameter', () => {
    const route = parseRoute('api/n/{n:int:range(1,10)}');
    expect(route.match(segments('api/n/7'))).toEqual({ n: '7' });
    expect(route.match(segments('api/n/11'))).toBeUndefined();
    expect(route.match(segments('api/n/x'))).toBeUndefined();
    expect(parseRoute('{b:bool}').match(['TRUE'])).toEqual({ b: 'TRUE' });
    expect(parseRoute('{s:alpha:minlength(2):maxlength(3)}').match(['abcd'])).toBeUndefined();
    expect(parseRoute('{s:length(2)}').match(['ab'])).toEqual({ s: 'ab' });
    expect(parseRoute('{d:datetime}').match(['2024-01-02'])).toEqual({ d: '2024-01-02' });
    expect(parseRoute('{d:double}').match(['1.5e3'])).toEqual({ d: '1.5e3' });
    expect(parseRoute('{id:long}').match(['9223372036854775808'])).toBeUndefined();
    expect(parseRoute('{code:regex(^[a-z]{{2}}\\d+$)}').match(['ab12'])).toEqual({ code: 'ab12' });
    expect(parseRoute('{code:regex(^[a-z]{{2}}\\d+$)}').match(['a12'])).toBeUndefined();
  });

  it('accepts guids in the formats .NET parses', () => {
    const route = parseRoute('{id:guid}');
    for (const id of [
      '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      '3F2504E04F8911D39A0C0305E82C3301',
      '{3f2504e0-4f89-11d3-9a0c-0305e82c3301}',
    ]) {
      expect(route.match([id])).toEqual({ id });
    }
    expect(route.match(['3f2504e0-4f89-11d3-9a0c'])).toBeUndefined();
  });

  it('lets trailing optional parameters and defaults be absent', () => {
    expect(parseRoute('a/{x?}/{y?}').match(['a'])).toEqual({});
    expect(parseRoute('a/{x?}/{y?}').match(['a', '1'])).toEqual({ x: '1' });
    expect(parseRoute('a/{page=1}').match(['a'])).toEqual({ page: '1' });
  });

  it('splits mixed segments on their literals', () => {
    expect(parseRoute('files/{name}.{ext}').match(['files', 'report.pdf'])).toEqual({ name: 'report', ext: 'pdf' });
    expect(parseRoute('files/{name}.{ext}').match(['files', 'report'])).toBeUndefined();
  });

  it('orders literal before constrained before plain before catch-all', () => {
    const routes = ['a/{*rest}', 'a/{id}', 'a/{id:int}', 'a/b'].map(parseRoute);
    expect([...routes].sort(compareRoutePrecedence).map((route) => route.template)).toEqual([
      'a/b',
      'a/{id:int}',
      'a/{id}',
      'a/{*rest}',
    ]);
  });

  it('rejects templates it cannot serve, by name', () => {
    expect(() => parseRoute('a/{id:nosuch}')).toThrow(new RouteTemplateError('Unknown route constraint "nosuch"'));
    expect(() => parseRoute('a/{id')).toThrow(RouteTemplateError);
    expect(() => parseRoute('{*rest}/a')).toThrow(RouteTemplateError);
    expect(() => parseRoute('{a}/{A}')).toThrow(/appears twice/);
  });
});
