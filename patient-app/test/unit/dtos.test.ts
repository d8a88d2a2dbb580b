import { validateInput } from '@patient-records/platform';

import { maxObservations, observationsOverLimit, PatientDto, PatientSearchDto, TestResultDto, toCriteria } from '../../src/model';

const validateBody = validateInput;

const validPatient = {
  firstName: 'Ada',
  lastName: 'Lovelace',
  gender: 'female',
  dateOfBirth: '1815-12-10',
  postCode: '2000',
};

const validTest = {
  performer: 'Lab 1',
  orderReference: 'ORD-1',
  observations: [
    { id: 'o1', code: 'HB', measurement: '13.5 g/dL', interpretation: 'normal', issued: '2024-05-01T10:00:00Z', status: 'final' },
  ],
};

function fields(result: Awaited<ReturnType<typeof validateBody>>): string[] {
  return result.ok ? [] : result.errors.map((d) => d.field).sort();
}

describe('PatientDto', () => {
  it('accepts a patient the seed accepted', async () => {
    const result = await validateBody(PatientDto, validPatient);
    expect(result.ok).toBe(true);
  });

  it('accepts the partial date forms YYYY and YYYY-MM', async () => {
    for (const dateOfBirth of ['1980', '1980-07', '0001-01-01', '9999-12-31']) {
      expect((await validateBody(PatientDto, { ...validPatient, dateOfBirth })).ok).toBe(true);
    }
  });

  it('accepts 29 February in a leap year', async () => {
    for (const dateOfBirth of ['1980-02-29', '2000-02-29']) {
      expect((await validateBody(PatientDto, { ...validPatient, dateOfBirth })).ok).toBe(true);
    }
  });

  it.each(['1980-02-30', '1980-02-31', '1981-02-29', '1900-02-29', '1980-04-31', '1980-11-31'])(
    'refuses the impossible date of birth %s by field (a search would count it as a day of the next month)',
    async (dateOfBirth) => {
      expect(await validateBody(PatientDto, { ...validPatient, dateOfBirth })).toEqual({
        ok: false,
        errors: [{ field: 'dateOfBirth', messages: ['dateOfBirth must be YYYY, YYYY-MM or YYYY-MM-DD, and a day the month has'] }],
      });
    },
  );

  it('reports every failing field, not only the first', async () => {
    const result = await validateBody(PatientDto, { firstName: '', gender: 'x', dateOfBirth: '1980-13-01', postCode: '123' });
    expect(result.ok).toBe(false);
    expect(fields(result)).toEqual(['dateOfBirth', 'firstName', 'gender', 'postCode']);
  });

  it('refuses unknown fields by name', async () => {
    const result = await validateBody(PatientDto, { ...validPatient, ssn: '123' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toEqual([{ field: 'ssn', messages: [expect.stringContaining('ssn')] }]);
  });

  it('refuses bodies that are not objects', async () => {
    for (const body of [undefined, null, 'text', 42, [validPatient]]) {
      const result = await validateBody(PatientDto, body);
      expect(result.ok).toBe(false);
    }
  });

  it('refuses wrong types and too-long strings', async () => {
    const result = await validateBody(PatientDto, { ...validPatient, firstName: 'x'.repeat(65), postCode: 2000, insuranceNumber: 7 });
    expect(fields(result)).toEqual(['firstName', 'insuranceNumber', 'postCode']);
  });

  it('refuses null for an optional field (it would be stored as null) and accepts the field left out', async () => {
    const result = await validateBody(PatientDto, { ...validPatient, lastName: null, fullName: null, id: null, lastUpdated: null });
    expect(fields(result)).toEqual(['fullName', 'id', 'lastName', 'lastUpdated']);
    const { lastName: _left, ...withoutLastName } = validPatient;
    expect((await validateBody(PatientDto, withoutLastName)).ok).toBe(true);
  });
});

describe('TestResultDto', () => {
  it('accepts a test result with observations, and with none', async () => {
    expect((await validateBody(TestResultDto, validTest)).ok).toBe(true);
    expect((await validateBody(TestResultDto, { ...validTest, observations: [] })).ok).toBe(true);
  });

  it('names the failing field inside an observation', async () => {
    const result = await validateBody(TestResultDto, {
      ...validTest,
      observations: [{ ...validTest.observations[0], issued: 'yesterday', extra: 1 }],
    });
    expect(fields(result)).toEqual(['observations[0].extra', 'observations[0].issued']);
  });

  it.each(['2009-W21-4', '2009-123', '20090519', '2009-05-19T14.5Z'])('refuses issued %s, ISO 8601 that Date cannot read', async (issued) => {
    const result = await validateBody(TestResultDto, { ...validTest, observations: [{ ...validTest.observations[0], issued }] });
    expect(fields(result)).toEqual(['observations[0].issued']);
  });

  it('refuses an array nested in observations, which ValidateNested alone lets through', async () => {
    for (const nested of [[], [validTest.observations[0]]]) {
      const result = await validateBody(TestResultDto, { ...validTest, observations: [validTest.observations[0], nested] });
      expect(fields(result)).toEqual(['observations']);
    }
  });

  it('refuses observations over the limit before validating them one by one', () => {
    const over = { ...validTest, observations: Array.from({ length: maxObservations + 1 }, () => ({})) };
    expect(observationsOverLimit(over)).toEqual({ field: 'observations', messages: [`observations must contain no more than ${maxObservations} elements`] });
    expect(observationsOverLimit({ ...validTest, observations: Array.from({ length: maxObservations }, () => ({})) })).toBeUndefined();
    expect(observationsOverLimit({ observations: 'x' })).toBeUndefined();
    expect(observationsOverLimit(null)).toBeUndefined();
  });

  it('refuses null for optional fields', async () => {
    const result = await validateBody(TestResultDto, { ...validTest, patientId: null, id: null });
    expect(fields(result)).toEqual(['id', 'patientId']);
  });

  it('requires observations to be an array', async () => {
    const result = await validateBody(TestResultDto, { ...validTest, observations: undefined });
    expect(fields(result)).toContain('observations');
  });
});

describe('PatientSearchDto', () => {
  it('accepts an empty search', async () => {
    expect((await validateBody(PatientSearchDto, {})).ok).toBe(true);
  });

  it('turns date-of-birth bounds given over HTTP into an inclusive day range', async () => {
    const result = await validateBody(PatientSearchDto, { dateOfBirthFrom: '1980-01-01', dateOfBirthTo: '1980-12-31', lastName: 'X' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(toCriteria(result.value)).toEqual({
      lastName: 'X',
      dateOfBirthFrom: new Date('1980-01-01T00:00:00.000Z'),
      dateOfBirthBefore: new Date('1981-01-01T00:00:00.000Z'),
    });
  });

  it('refuses unknown criteria and bad dates', async () => {
    const result = await validateBody(PatientSearchDto, { nickname: 'a', dateOfBirthFrom: 'last year' });
    expect(fields(result)).toEqual(['dateOfBirthFrom', 'nickname']);
    const impossible = await validateBody(PatientSearchDto, { dateOfBirthFrom: '1980-02-31', dateOfBirthTo: '-1980-02-28' });
    expect(fields(impossible)).toEqual(['dateOfBirthFrom', 'dateOfBirthTo']);
  });

  it('refuses date bounds in ISO 8601 forms Date cannot read (they became 1970 in the query) and null criteria', async () => {
    const result = await validateBody(PatientSearchDto, { dateOfBirthFrom: '2009-W21-4', dateOfBirthTo: '2009-123', lastName: null });
    expect(fields(result)).toEqual(['dateOfBirthFrom', 'dateOfBirthTo', 'lastName']);
  });
});
