// The price table cost estimates read (src/cost/estimate.ts): on-demand USD list prices, with their date and
// source. Regenerate it from the AWS Price List API with `npx tsx scripts/gen-price-table.ts [REGION...]`;
// a region missing here gives its objects a CostEstimated=False condition (PriceUnknown), never a guess.
import type { PriceTable } from './table.js';

export const PRICE_TABLE: PriceTable = {
  date: '2026-11-29',
  source:
    'AWS on-demand list prices as published on aws.amazon.com/fargate/pricing, /elasticloadbalancing/pricing, /vpc/pricing, /privatelink/pricing, /cloudwatch/pricing, /cloudfront/pricing and /route53/pricing, transcribed by hand (the Price List API was not reachable where this table was made); regenerate with scripts/gen-price-table.ts for figures read from the AWS Price List API',
  currency: 'USD',
  regions: {
    'ap-northeast-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.05056,
          gbHour: 0.00553,
        },
        ARM64: {
          vcpuHour: 0.04045,
          gbHour: 0.00442,
        },
      },
      loadBalancer: {
        hour: 0.0243,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.062,
      },
      interfaceEndpoint: {
        azHour: 0.014,
      },
      logs: {
        ingestedGb: 0.76,
      },
    },
    'ap-northeast-2': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04656,
          gbHour: 0.00511,
        },
        ARM64: {
          vcpuHour: 0.03725,
          gbHour: 0.00409,
        },
      },
      loadBalancer: {
        hour: 0.0225,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.059,
      },
      interfaceEndpoint: {
        azHour: 0.013,
      },
      logs: {
        ingestedGb: 0.7,
      },
    },
    'ap-southeast-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.05056,
          gbHour: 0.00553,
        },
        ARM64: {
          vcpuHour: 0.04045,
          gbHour: 0.00442,
        },
      },
      loadBalancer: {
        hour: 0.0252,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.059,
      },
      interfaceEndpoint: {
        azHour: 0.013,
      },
      logs: {
        ingestedGb: 0.7,
      },
    },
    'ap-southeast-2': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04856,
          gbHour: 0.00532,
        },
        ARM64: {
          vcpuHour: 0.03885,
          gbHour: 0.00426,
        },
      },
      loadBalancer: {
        hour: 0.0252,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.059,
      },
      interfaceEndpoint: {
        azHour: 0.013,
      },
      logs: {
        ingestedGb: 0.7,
      },
    },
    'ca-central-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04456,
          gbHour: 0.004865,
        },
        ARM64: {
          vcpuHour: 0.03565,
          gbHour: 0.00389,
        },
      },
      loadBalancer: {
        hour: 0.02475,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.05,
      },
      interfaceEndpoint: {
        azHour: 0.011,
      },
      logs: {
        ingestedGb: 0.55,
      },
    },
    'eu-central-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04656,
          gbHour: 0.00511,
        },
        ARM64: {
          vcpuHour: 0.03725,
          gbHour: 0.00409,
        },
      },
      loadBalancer: {
        hour: 0.027,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.052,
      },
      interfaceEndpoint: {
        azHour: 0.012,
      },
      logs: {
        ingestedGb: 0.63,
      },
    },
    'eu-west-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04048,
          gbHour: 0.004445,
        },
        ARM64: {
          vcpuHour: 0.03238,
          gbHour: 0.00356,
        },
      },
      loadBalancer: {
        hour: 0.0252,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.048,
      },
      interfaceEndpoint: {
        azHour: 0.011,
      },
      logs: {
        ingestedGb: 0.57,
      },
    },
    'eu-west-2': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04656,
          gbHour: 0.00511,
        },
        ARM64: {
          vcpuHour: 0.03725,
          gbHour: 0.00409,
        },
      },
      loadBalancer: {
        hour: 0.02646,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.05,
      },
      interfaceEndpoint: {
        azHour: 0.011,
      },
      logs: {
        ingestedGb: 0.5985,
      },
    },
    'us-east-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04048,
          gbHour: 0.004445,
        },
        ARM64: {
          vcpuHour: 0.03238,
          gbHour: 0.00356,
        },
      },
      loadBalancer: {
        hour: 0.0225,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.045,
      },
      interfaceEndpoint: {
        azHour: 0.01,
      },
      logs: {
        ingestedGb: 0.5,
      },
    },
    'us-east-2': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04048,
          gbHour: 0.004445,
        },
        ARM64: {
          vcpuHour: 0.03238,
          gbHour: 0.00356,
        },
      },
      loadBalancer: {
        hour: 0.0225,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.045,
      },
      interfaceEndpoint: {
        azHour: 0.01,
      },
      logs: {
        ingestedGb: 0.5,
      },
    },
    'us-west-1': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04656,
          gbHour: 0.00511,
        },
        ARM64: {
          vcpuHour: 0.03725,
          gbHour: 0.00409,
        },
      },
      loadBalancer: {
        hour: 0.0252,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.048,
      },
      interfaceEndpoint: {
        azHour: 0.011,
      },
      logs: {
        ingestedGb: 0.5,
      },
    },
    'us-west-2': {
      fargate: {
        X86_64: {
          vcpuHour: 0.04048,
          gbHour: 0.004445,
        },
        ARM64: {
          vcpuHour: 0.03238,
          gbHour: 0.00356,
        },
      },
      loadBalancer: {
        hour: 0.0225,
        lcuHour: 0.008,
      },
      natGateway: {
        hour: 0.045,
      },
      interfaceEndpoint: {
        azHour: 0.01,
      },
      logs: {
        ingestedGb: 0.5,
      },
    },
  },
  cloudFront: {
    transferOutGb: 0.085,
    httpsPer10k: 0.01,
  },
  route53: {
    hostedZoneMonth: 0.5,
  },
};
