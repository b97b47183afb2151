// What an AWS request is (service, operation, wire protocol), read the way the endpoint would read it, and the
// error responses a fault answers with, in the exact shape each protocol's SDK parser expects:
//   JSON 1.1 (X-Amz-Target: ECS, Cognito, CloudWatch Logs, Application Auto Scaling, Resource Groups Tagging)
//     → 400 {"__type":"ThrottlingException","message":"Rate exceeded"}
//   query (form body with Action=: ELBv2, STS) → 400 <ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
//   EC2 query → 503 <Response><Errors><Error><Code>RequestLimitExceeded</Code>
//   REST-XML (path-based: Route53, CloudFront) → 400 <ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>
// test/unit/chaos/proxy.test.ts sends each through the real SDK clients and checks how they are classified.
import type { IncomingHttpHeaders } from 'node:http';

export type Protocol = 'json' | 'query' | 'ec2' | 'rest-xml';

export interface AwsRequest {
  /** The signing name from the credential scope: ecs, elasticloadbalancing, route53, ... */
  readonly service: string;
  readonly operation: string;
  readonly protocol: Protocol;
}

export interface FaultResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** `Credential=AKID/20250101/us-east-1/ecs/aws4_request` → `ecs`. */
function signingService(headers: IncomingHttpHeaders): string {
  const auth = header(headers, 'authorization') ?? '';
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1] ?? 'unknown';
}

// REST-XML operations by method and path (the version prefix removed). Only the calls Slipway and its tests make
// need a name; anything else is named by its method and path shape, which is still stable across a run.
const REST_XML_OPERATIONS: readonly (readonly [string, RegExp, string])[] = [
  ['POST', /^\/hostedzone\/[^/]+\/rrset\/?$/, 'ChangeResourceRecordSets'],
  ['GET', /^\/hostedzone\/[^/]+\/rrset\/?$/, 'ListResourceRecordSets'],
  ['GET', /^\/hostedzone\/[^/]+$/, 'GetHostedZone'],
  ['GET', /^\/hostedzone\/?$/, 'ListHostedZones'],
  ['POST', /^\/hostedzone\/?$/, 'CreateHostedZone'],
  ['DELETE', /^\/hostedzone\/[^/]+$/, 'DeleteHostedZone'],
  ['GET', /^\/change\/[^/]+$/, 'GetChange'],
  ['GET', /^\/hostedzonesbyname\/?$/, 'ListHostedZonesByName'],
  ['GET', /^\/tags\/[^/]+\/[^/]+$/, 'ListTagsForResource'],
  ['POST', /^\/tags\/[^/]+\/[^/]+$/, 'ChangeTagsForResource'],
  ['POST', /^\/distribution\/?$/, 'CreateDistribution'],
  ['GET', /^\/distribution\/?$/, 'ListDistributions'],
  ['GET', /^\/distribution\/[^/]+\/config$/, 'GetDistributionConfig'],
  ['PUT', /^\/distribution\/[^/]+\/config$/, 'UpdateDistribution'],
  ['GET', /^\/distribution\/[^/]+$/, 'GetDistribution'],
  ['DELETE', /^\/distribution\/[^/]+$/, 'DeleteDistribution'],
  ['GET', /^\/tagging$/, 'ListTagsForResource'],
  ['POST', /^\/tagging$/, 'TagResource'],
];

function restXmlOperation(method: string, url: string): string {
  const [path = '/', query = ''] = url.split('?');
  const rest = path.replace(/^\/\d{4}-\d{2}-\d{2}/, '');
  const op = REST_XML_OPERATIONS.find(([m, re]) => m === method && re.test(rest))?.[2];
  if (op === 'TagResource' && /Operation=Untag/i.test(query)) return 'UntagResource';
  if (op) return op;
  return `${method} ${rest.replace(/\/[A-Z0-9]{8,}(?=\/|$)/g, '/{id}')}`;
}

/** Reads service, operation and protocol from a request's method, URL, headers and (form) body. */
export function identify(method: string, url: string, headers: IncomingHttpHeaders, body: string): AwsRequest {
  const service = signingService(headers);
  const target = header(headers, 'x-amz-target');
  if (target) return { service, operation: target.slice(target.lastIndexOf('.') + 1), protocol: 'json' };
  const contentType = header(headers, 'content-type') ?? '';
  if (method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
    const operation = new URLSearchParams(body).get('Action') ?? 'Unknown';
    return { service, operation, protocol: service === 'ec2' ? 'ec2' : 'query' };
  }
  return { service, operation: restXmlOperation(method, url), protocol: 'rest-xml' };
}

/** True for calls that change something: the ones whose lost response matters, and the ones kills are paced by. */
export function isWrite(operation: string): boolean {
  return (
    !/^(Describe|List|Get|AdminGet|Lookup|Search|Batch(Get|Describe))/.test(operation) &&
    !/^(GET|HEAD) /.test(operation)
  );
}

const XMLNS: Readonly<Record<string, string>> = {
  elasticloadbalancing: 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/',
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
  route53: 'https://route53.amazonaws.com/doc/2013-04-01/',
  cloudfront: 'http://cloudfront.amazonaws.com/doc/2020-05-31/',
};

function errorResponse(
  req: AwsRequest,
  status: number,
  code: string,
  type: 'Sender' | 'Receiver',
  message: string,
  requestId: string,
): FaultResponse {
  const common = { 'x-amzn-requestid': requestId, 'x-amz-request-id': requestId };
  switch (req.protocol) {
    case 'json':
      return {
        status,
        headers: { ...common, 'content-type': 'application/x-amz-json-1.1' },
        body: JSON.stringify({ __type: code, message }),
      };
    case 'ec2':
      return {
        status,
        headers: { ...common, 'content-type': 'text/xml;charset=UTF-8' },
        body:
          '<?xml version="1.0" encoding="UTF-8"?>\n' +
          `<Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors>` +
          `<RequestID>${requestId}</RequestID></Response>`,
      };
    case 'query':
    case 'rest-xml': {
      const ns = XMLNS[req.service];
      return {
        status,
        headers: { ...common, 'content-type': 'text/xml' },
        body:
          '<?xml version="1.0" encoding="UTF-8"?>\n' +
          `<ErrorResponse${ns ? ` xmlns="${ns}"` : ''}><Error><Type>${type}</Type><Code>${code}</Code>` +
          `<Message>${message}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    }
  }
}

/** The protocol's own throttling error: what AWS answers when a call goes over its rate. */
export function throttlingResponse(req: AwsRequest, requestId: string): FaultResponse {
  switch (req.protocol) {
    case 'json':
      return errorResponse(req, 400, 'ThrottlingException', 'Sender', 'Rate exceeded', requestId);
    case 'ec2':
      return errorResponse(req, 503, 'RequestLimitExceeded', 'Sender', 'Request limit exceeded.', requestId);
    case 'query':
    case 'rest-xml':
      return errorResponse(req, 400, 'Throttling', 'Sender', 'Rate exceeded', requestId);
  }
}

/** A server-side failure: 503 ServiceUnavailable when `unavailable`, else 500 InternalError (InternalFailure). */
export function serverErrorResponse(req: AwsRequest, requestId: string, unavailable: boolean): FaultResponse {
  if (unavailable) {
    const code = req.protocol === 'ec2' ? 'Unavailable' : 'ServiceUnavailable';
    const json = req.protocol === 'json' ? 'ServiceUnavailableException' : code;
    return errorResponse(req, 503, json, 'Receiver', 'Service is unavailable, try again later', requestId);
  }
  const code = req.protocol === 'json' ? 'InternalFailure' : 'InternalError';
  return errorResponse(req, 500, code, 'Receiver', 'We encountered an internal error. Please try again.', requestId);
}
